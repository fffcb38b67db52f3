/* Live template rules on the template form, while typing: character counts against the limits,
   the variables found, a preview with sample values, the verification-code rule, and only the
   types the chosen account allows. It mirrors apps/sms_templates/rules.py, whose messages and
   limits arrive in the #template-rules JSON; the server still checks everything on save. */
(function () {
  "use strict";

  const configNode = document.getElementById("template-rules");
  if (!configNode) return;
  const config = JSON.parse(configNode.textContent);
  const VARIABLE_RE = /\$\{([^{}]*)\}/g;
  const VALID_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,29}$/;

  // The providers count characters (code points), not UTF-16 units; newlines as one.
  const length = (text) => Array.from(text.replace(/\r\n/g, "\n")).length;
  const fill = (message, values) =>
    message.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
  const sample = (name) => (name === config.codeVariable ? config.codeSample : name);
  const preview = (text) => text.replace(VARIABLE_RE, (match, name) => sample(name));

  function findVariables(text) {
    const seen = [];
    for (const match of text.matchAll(VARIABLE_RE)) {
      if (!seen.includes(match[1])) seen.push(match[1]);
    }
    return seen;
  }

  function variableProblem(variables, isVerification) {
    const bad = variables.find((name) => !VALID_NAME_RE.test(name));
    if (bad !== undefined) return fill(config.messages.badVariable, { name: bad });
    if (!isVerification) return "";
    if (variables.length !== 1) {
      const found = variables.length ? ": " + variables.map((v) => "${" + v + "}").join(", ") : "";
      return fill(config.messages.oneVariable, { n: variables.length, found: found });
    }
    if (variables[0] !== config.codeVariable) return fill(config.messages.codeVariable, { name: variables[0] });
    return "";
  }

  function addNode(after, tag, className, id) {
    const node = document.createElement(tag);
    node.className = className;
    node.id = id;
    node.setAttribute("aria-live", "polite");
    after.insertAdjacentElement("afterend", node);
    return node;
  }

  const counters = ["name", "content", "remark"]
    .map((field) => ({ field: field, input: document.getElementById("id_" + field) }))
    .filter((counter) => counter.input);
  counters.forEach((counter) => {
    counter.node = addNode(counter.input, "div", "help char-count", "count-" + counter.field);
  });
  const content = document.getElementById("id_content");
  const type = document.getElementById("id_type");
  const account = document.getElementById("id_account");
  const variablesNode = document.querySelector(".field-variables_found .readonly");
  const previewNode = document.querySelector(".field-preview .readonly");
  const problemNode = content ? addNode(document.getElementById("count-content"), "ul", "errorlist live-rules", "live-rules") : null;
  const allTypes = type ? Array.from(type.options).map((o) => ({ value: o.value, label: o.text })) : [];

  function update() {
    counters.forEach((counter) => {
      const n = length(counter.input.value);
      const limit = config.limits[counter.field];
      counter.node.textContent = n + " / " + limit + " characters";
      counter.node.classList.toggle("over-limit", n > limit);
      counter.node.title = n > limit ? fill(config.messages[counter.field], { n: n }) : "";
    });
    if (!content) return;
    const variables = findVariables(content.value);
    if (variablesNode) variablesNode.textContent = variables.map((v) => "${" + v + "}").join(", ") || "none";
    if (previewNode) previewNode.textContent = preview(content.value.replace(/\r\n/g, "\n")) || "—";
    const problems = counters
      .filter((counter) => length(counter.input.value) > config.limits[counter.field])
      .map((counter) => fill(config.messages[counter.field], { n: length(counter.input.value) }));
    const variableRule = variableProblem(variables, type && type.value === config.verificationType);
    if (variableRule) problems.push(variableRule);
    problemNode.replaceChildren(
      ...problems.map((text) => {
        const item = document.createElement("li");
        item.textContent = text;
        return item;
      })
    );
  }

  function filterTypes() {
    if (!account || !type) return;
    const allowed = config.accountTypes[account.value];
    const current = type.value;
    const offered = allTypes.filter((o) => o.value === "" || !allowed || allowed.includes(o.value));
    type.replaceChildren(...offered.map((o) => new Option(o.label, o.value)));
    type.value = offered.some((o) => o.value === current) ? current : "";
  }

  counters.forEach((counter) => counter.input.addEventListener("input", update));
  if (type) type.addEventListener("change", update);
  if (account) account.addEventListener("change", () => { filterTypes(); update(); });
  filterTypes();
  update();
})();
