// Draws the dashboard's charts from the django-chartjs JSON views (same query string as the page)
// and submits the filter form whenever a filter changes, so the URL always holds the view.
(function () {
  "use strict";

  function percentAxis(position) {
    return { position: position, min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } };
  }

  function options(kind, data) {
    var base = { responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false } };
    if (kind === "conversion") {
      base.scales = { rate: percentAxis("left"), count: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } };
      base.plugins = {
        tooltip: {
          callbacks: {
            afterBody: function (items) {
              var drop = data.datasets[data.datasets.length - 1];
              var note = items.length ? drop.notes[items[0].dataIndex] : "";
              return note ? "Drop: " + note : "";
            },
          },
        },
      };
    } else if (kind === "rate" || kind === "bars-rate") {
      base.scales = { y: percentAxis("left") };
    } else {
      base.scales = { y: { beginAtZero: true } };
    }
    return base;
  }

  function draw(canvas) {
    var kind = canvas.dataset.kind;
    return fetch(canvas.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("chart data: HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        var type = kind === "bars" || kind === "bars-rate" ? "bar" : "line";
        new window.Chart(canvas, { type: type, data: data, options: options(kind, data) });
        canvas.dataset.drawn = String(data.labels.length);
      })
      .catch(function (error) {
        canvas.dataset.drawn = "error";
        canvas.insertAdjacentText("afterend", "Could not load this chart: " + error.message);
      });
  }

  function wireFilters() {
    var form = document.getElementById("dash-filters");
    if (!form) { return; }
    var range = form.querySelector("[name=range]");
    var sync = function () { form.classList.toggle("custom", range.value === "custom"); };
    sync();
    // Empty filters stay out of the URL, so shared links are short and readable.
    var send = function () {
      form.querySelectorAll("select, input").forEach(function (field) { field.disabled = field.name && field.value === ""; });
      form.submit();
    };
    form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
    form.addEventListener("change", function (event) {
      sync();
      var name = event.target.name;
      if (name === "start" || name === "end") { return; } // wait for Apply
      if (name === "range" && range.value === "custom") { return; }
      send();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireFilters();
    // One request at a time: each is fast, and the server is never hit by a burst from one page.
    Array.prototype.reduce.call(
      document.querySelectorAll("canvas[data-url]"),
      function (previous, canvas) { return previous.then(function () { return draw(canvas); }); },
      Promise.resolve()
    );
  });
})();
