// Live progress of running sync runs on the Sync runs page: poll while any run is running.
"use strict";
(function () {
  const POLL_MS = 1500;

  function runningIds() {
    return Array.from(document.querySelectorAll('.sync-progress[data-status="running"]')).map((el) => el.dataset.run);
  }

  function render(el, run) {
    el.dataset.status = run.status;
    el.querySelector("progress").value = run.percent;
    const counts = run.total ? `${run.done}/${run.total}` : "—";
    el.querySelector(".sync-progress-text").textContent = `${run.percent}% (${counts})`;
    const row = el.closest("tr");
    if (!row) return;
    const cells = { pages_fetched: run.pages, items_updated: run.updated, errors: run.errors };
    for (const [name, value] of Object.entries(cells)) {
      const cell = row.querySelector(`.field-${name}`);
      if (cell) cell.textContent = value;
    }
    const status = row.querySelector(".sync-status");
    if (status) status.textContent = run.status_label;
    const reason = row.querySelector(".sync-reason");
    if (reason) reason.textContent = run.reason;
  }

  async function poll() {
    const ids = runningIds();
    const summary = document.getElementById("sync-summary");
    if (!ids.length || !summary) return;
    try {
      const response = await fetch(`${summary.dataset.progressUrl}?ids=${ids.join(",")}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const data = await response.json();
        for (const [id, run] of Object.entries(data.runs)) {
          const el = document.querySelector(`.sync-progress[data-run="${id}"]`);
          if (el) render(el, run);
        }
        const running = document.getElementById("sync-running");
        if (running) running.textContent = runningIds().length;
      }
    } finally {
      if (runningIds().length) window.setTimeout(poll, POLL_MS);
    }
  }

  document.addEventListener("DOMContentLoaded", () => window.setTimeout(poll, POLL_MS));
})();
