// The playground page: two editors, the pickers, the examples menu and the verdict panel,
// with podsec's engine (policy-core over wasm-bindgen) evaluating on every change.

import init, { about, evaluate, fix, report } from "podsec-engine";
import engineBytes from "podsec-engine-wasm";
import examples from "podsec-examples";
import dumps from "podsec-dumps";
import workerSource from "podsec-worker";
import { createEditor, highlightLine, markLines, setText } from "./editor.js";
import { decodeState, encodeState } from "./share.js";

const started = performance.now();
const $ = (id) => document.getElementById(id);

const DEFAULT_EXAMPLE = "pods/privileged-denied.yaml";

const state = { object: "", settings: "", mode: "fixed", level: "baseline", version: "latest", preset: "" };
let objectEditor;
let settingsEditor;
let info;
let pending = 0;
let applying = false;
let evaluations = 0;

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fillSelect(select, values, labels = {}) {
  for (const value of values) select.append(element("option", { value }, labels[value] ?? value));
}

function overrides() {
  const preset = state.preset === "" ? null : state.preset;
  // In the namespace-labels mode the levels come from the labels: the level and version
  // pickers do not apply.
  if (state.mode === "labels") return JSON.stringify({ namespaceLabels: true, preset });
  return JSON.stringify({ level: state.level, version: state.version, preset });
}

/// The level and version pickers are off while the labels decide.
function showMode(labelled) {
  $("mode").value = labelled ? "labels" : "fixed";
  $("level").disabled = labelled;
  $("version").disabled = labelled;
  $("mode-help").hidden = !labelled;
}

function identity(result) {
  const kind = result.kind ?? "object";
  const where = [result.namespace, result.name].filter(Boolean).join("/");
  return where ? `${kind} ${where}` : kind;
}

function jump(view, line) {
  if (line) highlightLine(view, line);
}

function violationRow(violation) {
  const where = violation.line
    ? violation.exact
      ? `line ${violation.line}`
      : `line ${violation.line} (field missing here)`
    : "";
  return element(
    "li",
    {},
    element(
      "button",
      {
        type: "button",
        class: "violation",
        "data-testid": "violation",
        "data-check": violation.check,
        "data-line": violation.line,
        "aria-label": `${violation.check}: ${violation.detail}, ${violation.path}${where ? `, ${where}` : ""}`,
        onclick: () => jump(objectEditor, violation.line),
      },
      element("span", { class: "check" }, violation.check),
      element("span", { class: "detail" }, `${violation.reason}: ${violation.detail}`),
      element("code", { class: "path" }, violation.path),
      where && element("span", { class: "where" }, where),
    ),
  );
}

function resultCard(result) {
  if (result.error) {
    return element(
      "article",
      { class: "result error", "data-testid": "result" },
      element("h3", {}, element("span", { class: "badge error" }, "Error"), ` document ${result.document + 1}`),
      element(
        "button",
        {
          type: "button",
          class: "parse-error",
          "data-testid": "parse-error",
          "data-line": result.errorLine ?? result.line,
          onclick: () => jump(objectEditor, result.errorLine ?? result.line),
        },
        result.errorLine ? `Line ${result.errorLine}, column ${result.errorColumn}: ` : "",
        result.error,
      ),
    );
  }
  // Skipped as `podsec check` counts it: admitted without being evaluated.
  const verdict = !result.allowed ? "denied" : result.skipped ? "skipped" : result.warnings?.length ? "audited" : "allowed";
  const label = { allowed: "Allowed", denied: "Denied", audited: "Allowed with warnings", skipped: "Skipped" }[verdict];
  return element(
    "article",
    { class: `result ${verdict}`, "data-testid": "result", "data-allowed": String(result.allowed) },
    element("h3", {}, element("span", { class: `badge ${verdict}` }, label), ` ${identity(result)}`, element("small", {}, ` from line ${result.line}`)),
    result.message && element("p", { class: "message", "data-testid": "message" }, result.message),
    result.warnings?.length > 0 &&
      element("ul", { class: "warnings" }, result.warnings.map((w) => element("li", { "data-testid": "warning" }, w))),
    result.message?.startsWith("failed to lookup namespace") &&
      element("p", { class: "hint", "data-testid": "hint" }, "Add the Namespace (apiVersion: v1, kind: Namespace) to the object editor: in this mode it is the cluster the policy asks."),
    result.policy && element("p", { class: "policy", "data-testid": "policy" }, "Namespace policy: ", element("code", {}, result.policy)),
    result.annotations &&
      element(
        "dl",
        { class: "annotations", "data-testid": "annotations", "aria-label": "Audit annotations" },
        Object.entries(result.annotations).flatMap(([key, value]) => [
          element("dt", {}, key),
          element("dd", { "data-annotation": key }, value),
        ]),
      ),
    result.skipped && element("p", { class: "skipped" }, `Not checked: ${result.skipped}`),
    result.violations?.length > 0 && element("ul", { class: "violations", "aria-label": "Violations" }, result.violations.map(violationRow)),
  );
}

function render(answer) {
  const body = $("verdict-body");
  const objectMarks = [];
  const settingsMarks = [];
  const cards = [];
  if (!answer.settings.valid) {
    const line = answer.settings.line;
    if (line) settingsMarks.push({ line, kind: "error", title: answer.settings.message });
    cards.push(
      element(
        "article",
        { class: "result error", "data-testid": "settings-error" },
        element("h3", {}, element("span", { class: "badge error" }, "Settings"), " not valid"),
        element(
          "button",
          { type: "button", class: "parse-error", "data-line": line, onclick: () => jump(settingsEditor, line) },
          line ? `Line ${line}, column ${answer.settings.column}: ` : "",
          answer.settings.message,
        ),
      ),
    );
  }
  for (const result of answer.results) {
    if (result.error && result.errorLine) objectMarks.push({ line: result.errorLine, kind: "error", title: result.error });
    for (const violation of result.violations ?? []) {
      if (violation.line) objectMarks.push({ line: violation.line, kind: "violation", title: `${violation.check}: ${violation.detail}` });
    }
    cards.push(resultCard(result));
  }
  const counted = answer.results.filter((r) => !r.error);
  const denied = counted.filter((r) => !r.allowed).length;
  const skipped = counted.filter((r) => r.allowed && r.skipped).length;
  const errors = answer.results.length - counted.length;
  let summary;
  // A PodSecurityConfiguration in the settings turns the namespace-labels mode on by itself.
  if (answer.settings.valid && answer.settings.namespaceLabels && state.mode !== "labels") {
    state.mode = "labels";
    showMode(true);
  }
  if (!answer.settings.valid) summary = "Fix the settings to evaluate.";
  else if (answer.results.length === 0) summary = "Nothing to evaluate: the object editor is empty.";
  else {
    const noun = answer.results.length === 1 ? "object" : "objects";
    summary = `${answer.results.length} ${noun}: ${counted.length - denied - skipped} allowed, ${denied} denied${skipped ? `, ${skipped} skipped` : ""}${errors ? `, ${errors} not readable` : ""}.`;
  }
  // The summary is the live region (it persists, so screen readers announce its changes);
  // the cards below are replaced silently on every keystroke.
  $("summary").textContent = summary;
  body.replaceChildren(...cards);
  markLines(objectEditor, objectMarks);
  markLines(settingsEditor, settingsMarks);
}

function runEvaluation() {
  pending = 0;
  let answer;
  try {
    answer = JSON.parse(evaluate(state.object, state.settings, overrides()));
  } catch (error) {
    $("verdict-body").replaceChildren(element("p", { class: "result error" }, `The engine failed: ${error}`));
    return;
  }
  render(answer);
  if (!$("fix-panel").hidden) renderFix();
  evaluations += 1;
  if (evaluations === 1) window.podsecPlayground.firstEvaluationMs = performance.now();
  document.body.dataset.evaluations = String(evaluations);
}

/// The mean time of one engine evaluation of the current editors' contents, in
/// microseconds, over `runs` evaluations (batched: browsers coarsen `performance.now`).
function timeEvaluation(runs = 1000) {
  const settings = overrides();
  const begin = performance.now();
  for (let i = 0; i < runs; i += 1) evaluate(state.object, state.settings, settings);
  return ((performance.now() - begin) * 1000) / runs;
}

function schedule() {
  if (pending) return;
  pending = requestAnimationFrame(runEvaluation);
}

function applyState(next) {
  Object.assign(state, next);
  if (state.mode !== "labels") state.mode = "fixed";
  for (const key of ["level", "version", "preset"]) $(key).value = state[key];
  showMode(state.mode === "labels");
  applying = true;
  setText(objectEditor, state.object);
  setText(settingsEditor, state.settings);
  applying = false;
  schedule();
}

/// A hand edit: the text no longer is the example the menu names.
function edited() {
  if (!applying) $("examples").value = "";
  schedule();
}

function loadExample(id) {
  const example = examples.find((e) => e.id === id);
  if (!example) return;
  applyState({
    object: example.object,
    settings: example.settings,
    mode: example.mode,
    level: example.level,
    version: example.version,
    preset: example.preset,
  });
}

const EXPORTS = {
  "policy-report": { file: "podsec-policyreport.json", type: "application/json" },
  openreports: { file: "podsec-openreports.json", type: "application/json" },
  sarif: { file: "podsec.sarif", type: "application/sarif+json" },
  junit: { file: "podsec-junit.xml", type: "application/xml" },
};

/// Downloads the editors' judgement as `podsec check --format <format>` would write it.
function exportAs(format) {
  const target = EXPORTS[format];
  if (!target) return;
  let text;
  try {
    text = report(state.object, state.settings, overrides(), format, Date.now() / 1000);
  } catch (error) {
    $("share-status").textContent = `Nothing exported: ${error}`;
    return;
  }
  download(text, target);
  $("share-status").textContent = `Exported ${target.file}.`;
}

/// Saves `text` as the file `target.file`.
function download(text, target) {
  const url = URL.createObjectURL(new Blob([text], { type: target.type }));
  const link = element("a", { href: url, download: target.file });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

async function share() {
  const url = `${location.href.split("#")[0]}#${await encodeState(state)}`;
  history.replaceState(null, "", url);
  const field = $("share-url");
  field.value = url;
  field.hidden = false;
  field.select();
  let copied = false;
  try {
    await navigator.clipboard.writeText(url);
    copied = true;
  } catch {
    copied = false;
  }
  $("share-status").textContent = copied ? "Link copied." : "Link ready: copy it from the box.";
}

function setUpControls() {
  fillSelect($("level"), info.levels);
  fillSelect($("version"), info.versions, { latest: `latest (${info.pss})` });
  fillSelect($("preset"), info.presets);
  const groups = new Map();
  for (const example of examples) {
    if (!groups.has(example.group)) groups.set(example.group, element("optgroup", { label: example.group }));
    groups.get(example.group).append(
      element("option", { value: example.id, title: example.description || undefined }, example.title),
    );
  }
  $("examples").append(...groups.values());
  for (const key of ["level", "version", "preset"]) {
    $(key).addEventListener("change", (event) => {
      state[key] = event.target.value;
      schedule();
    });
  }
  $("mode").addEventListener("change", (event) => {
    state.mode = event.target.value;
    showMode(state.mode === "labels");
    schedule();
  });
  $("examples").addEventListener("change", (event) => loadExample(event.target.value));
  $("share").addEventListener("click", () => share());
  $("export").addEventListener("change", (event) => {
    exportAs(event.target.value);
    event.target.value = "";
  });
  $("controls").addEventListener("submit", (event) => event.preventDefault());
  window.addEventListener("hashchange", async () => {
    const restored = await decodeState(location.hash);
    if (restored) applyState(restored);
  });
}

// The Fix panel: the object editor's text fixed as `podsec fix` fixes a file, shown as a
// diff with each change's class, what is left, and the verdict on the fixed text; Apply
// puts the fixed text in the editor.
const fixer = { answer: null };

/// The lines of `before` and `after` as a unified list of kept, removed and added lines
/// (a longest-common-subsequence diff; the texts are a person's manifests, so small).
function lineDiff(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  if (a.length * b.length > 4_000_000) {
    return [...a.map((line) => ({ kind: "removed", line })), ...b.map((line) => ({ kind: "added", line }))];
  }
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: "kept", line: a[i] });
      i += 1;
      j += 1;
    } else if (j < b.length && (i === a.length || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out.push({ kind: "added", line: b[j] });
      j += 1;
    } else {
      out.push({ kind: "removed", line: a[i] });
      i += 1;
    }
  }
  return out;
}

/// The diff with three kept lines of context around each change.
function diffView(rows) {
  const near = rows.map((row, index) => row.kind !== "kept" || rows.slice(Math.max(0, index - 3), index + 4).some((r) => r.kind !== "kept"));
  const nodes = [];
  let skipped = false;
  rows.forEach((row, index) => {
    if (!near[index]) {
      if (!skipped) nodes.push(element("span", { class: "gap" }, "  …\n"));
      skipped = true;
      return;
    }
    skipped = false;
    const sign = { kept: " ", added: "+", removed: "-" }[row.kind];
    nodes.push(element("span", { class: row.kind, "data-testid": `diff-${row.kind}` }, `${sign} ${row.line}\n`));
  });
  return nodes;
}

function renderFix() {
  let answer;
  try {
    answer = JSON.parse(fix(state.object, state.settings, overrides(), $("fix-review").checked));
  } catch (error) {
    $("fix-summary").textContent = `The engine failed: ${error}`;
    return;
  }
  fixer.answer = answer;
  const changes = [];
  const remaining = [];
  for (const object of answer.objects ?? []) {
    for (const change of object.changes ?? []) {
      changes.push(
        element(
          "li",
          { "data-testid": "fix-change", "data-class": change.class, "data-check": change.check },
          element("span", { class: `badge ${change.class}` }, change.class),
          element("span", { class: "check" }, change.check),
          `${object.name}: ${change.description}`,
        ),
      );
    }
    for (const left of object.remaining ?? []) {
      remaining.push(
        element(
          "li",
          { "data-testid": "fix-remaining", "data-class": left.class, "data-check": left.check },
          element("span", { class: `badge ${left.class}` }, left.class),
          element("span", { class: "check" }, left.check),
          `${object.name}: ${left.field}: ${left.reason}`,
        ),
      );
    }
  }
  $("fix-changes").replaceChildren(...changes);
  $("fix-remaining").replaceChildren(...remaining);
  if (!answer.settings.valid) {
    $("fix-summary").textContent = answer.settings.message ?? "Fix the settings first.";
    $("fix-diff").replaceChildren();
    $("fix-apply").disabled = true;
    return;
  }
  // The verdict on the fixed text, as the panel on the right would show it.
  const after = JSON.parse(evaluate(answer.text, state.settings, overrides())).results.filter((r) => !r.error);
  const denied = after.filter((r) => !r.allowed).length;
  const counts = ["safe", "needs-review"].map((kind) => changes.filter((c) => c.dataset.class === kind).length);
  const verdict = `after the fix: ${after.length - denied} allowed, ${denied} denied`;
  $("fix-summary").textContent = answer.changed
    ? `${changes.length} ${changes.length === 1 ? "change" : "changes"} (${counts[0]} safe, ${counts[1]} needing review); ${verdict}.`
    : `Nothing to change${remaining.length ? ": what is left cannot be fixed here" : ""}; ${verdict}.`;
  $("fix-summary").dataset.denied = String(denied);
  $("fix-diff").replaceChildren(...(answer.changed ? diffView(lineDiff(state.object, answer.text)) : []));
  $("fix-apply").disabled = !answer.changed;
}

function openFix() {
  $("fix-panel").hidden = false;
  renderFix();
}

function setUpFix() {
  $("fix-open").addEventListener("click", openFix);
  $("fix-review").addEventListener("change", renderFix);
  $("fix-close").addEventListener("click", () => {
    $("fix-panel").hidden = true;
  });
  $("fix-apply").addEventListener("click", () => {
    if (!fixer.answer?.changed) return;
    setText(objectEditor, fixer.answer.text);
    $("fix-panel").hidden = true;
  });
}

// The audit of a whole cluster dump, in a Web Worker.
const AUDIT_SHOWN = 300;
const audit = { worker: null, ready: null, next: 1, waiting: new Map(), result: null, check: "", namespace: "" };

function startWorker() {
  if (audit.worker) return audit.ready;
  const url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
  audit.worker = new Worker(url);
  audit.ready = new Promise((resolve, reject) => {
    audit.worker.onmessage = ({ data }) => {
      if (data.type === "ready") {
        resolve();
        return;
      }
      if (data.type === "progress") {
        showProgress(data.done, data.total);
        return;
      }
      const waiting = audit.waiting.get(data.id);
      if (!waiting) return;
      audit.waiting.delete(data.id);
      if (data.type === "error") waiting.reject(new Error(data.message));
      else waiting.resolve(data);
    };
    audit.worker.onerror = (event) => reject(new Error(event.message));
  });
  // A copy of the engine's bytes: the page keeps its own.
  audit.worker.postMessage({ type: "init", bytes: engineBytes.slice() });
  return audit.ready;
}

async function ask(request) {
  await startWorker();
  const id = audit.next++;
  return new Promise((resolve, reject) => {
    audit.waiting.set(id, { resolve, reject });
    audit.worker.postMessage({ ...request, id });
  });
}

function showProgress(done, total) {
  const bar = $("audit-progress");
  bar.hidden = false;
  bar.max = Math.max(total, 1);
  bar.value = done;
  $("audit-status").textContent = `Evaluating ${done.toLocaleString("en")} of ${total.toLocaleString("en")} objects…`;
  window.podsecPlayground.auditProgress = (window.podsecPlayground.auditProgress ?? 0) + 1;
}

async function runAudit(text, label, chosen = performance.now()) {
  $("audit-export").disabled = true;
  $("audit-body").hidden = true;
  $("audit-status").textContent = `Reading ${label}…`;
  window.podsecPlayground.auditProgress = 0;
  let answer;
  try {
    answer = await ask({ type: "audit", text, settings: state.settings, overrides: overrides() });
  } catch (error) {
    $("audit-progress").hidden = true;
    $("audit-status").textContent = `Nothing audited: ${error.message}`;
    return;
  }
  audit.result = answer.audit;
  window.podsecPlayground.audit = answer.audit;
  audit.check = "";
  audit.namespace = "";
  renderAudit();
  const { summary } = audit.result;
  $("audit-progress").hidden = true;
  $("audit-status").textContent = `${label}: ${summary.objects.toLocaleString("en")} objects, ${summary.allowed} allowed, ${summary.denied} denied, ${summary.skipped} skipped, ${summary.errors} errors (${Math.round(answer.ms)} ms).`;
  $("audit-export").disabled = false;
  // From choosing the input to the overview on screen (for `make bench`).
  window.podsecPlayground.auditMs = performance.now() - chosen;
  document.body.dataset.audits = String(Number(document.body.dataset.audits ?? 0) + 1);
}

function failingChecks(result) {
  return new Set((result.violations ?? []).map((v) => v.check));
}

function renderAudit() {
  const { overview, results } = audit.result;
  // The per-check chart: one bar per check, clickable to filter.
  const most = Math.max(1, ...overview.checks.map((row) => row.nonCompliant));
  $("audit-checks").replaceChildren(
    ...(overview.checks.length === 0
      ? [element("p", {}, "Every evaluated object passes.")]
      : overview.checks.map((row) =>
          element(
            "button",
            {
              type: "button",
              "data-check": row.check,
              "aria-pressed": String(audit.check === row.check),
              onclick: () => {
                audit.check = audit.check === row.check ? "" : row.check;
                $("audit-filter-check").value = audit.check;
                renderAudit();
              },
            },
            element("span", {}, row.check, element("small", {}, ` ${row.level}`)),
            element("span", { class: row.nonCompliant ? "bar" : "bar exempt", style: `width: ${(100 * Math.max(row.nonCompliant, row.exempted ? 0.5 : 0)) / most}%` }),
            element("span", {}, row.nonCompliant ? String(row.nonCompliant) : `${row.exempted} exempt`),
          ),
        )),
  );
  $("audit-namespaces").replaceChildren(
    ...overview.namespaces.map((row) =>
      element(
        "tr",
        { "data-namespace": row.namespace },
        element("th", { scope: "row" }, row.namespace || "(none)"),
        ...[row.allowed, row.denied, row.skipped, row.errors, row.nonCompliant].map((n) => element("td", {}, String(n))),
      ),
    ),
  );
  const checkFilter = $("audit-filter-check");
  checkFilter.replaceChildren(element("option", { value: "" }, "every check"), ...overview.checks.map((row) => element("option", { value: row.check }, row.check)));
  checkFilter.value = audit.check;
  const namespaceFilter = $("audit-filter-namespace");
  namespaceFilter.replaceChildren(
    element("option", { value: "" }, "every namespace"),
    ...overview.namespaces.map((row) => element("option", { value: row.namespace }, row.namespace || "(none)")),
  );
  namespaceFilter.value = audit.namespace;
  // The objects that fail (or could not be read), filtered.
  const rows = [];
  results.forEach((result, index) => {
    const failing = failingChecks(result);
    if (failing.size === 0 && !result.error) return;
    if (audit.check && !failing.has(audit.check)) return;
    if (audit.namespace && (result.namespace ?? "") !== audit.namespace) return;
    rows.push([result, index, failing]);
  });
  const shown = rows.slice(0, AUDIT_SHOWN);
  $("audit-count").textContent =
    rows.length > shown.length ? `${rows.length} objects, the first ${shown.length} shown` : `${rows.length} ${rows.length === 1 ? "object" : "objects"}`;
  $("audit-objects").replaceChildren(
    ...shown.map(([result, index, failing]) => {
      const status = result.error ? "error" : result.allowed === false ? "denied" : "warned";
      const detail = result.error ?? [...failing].join(", ");
      return element(
        "li",
        {},
        element(
          "button",
          { type: "button", "data-index": String(index), onclick: () => openObject(index) },
          element("span", { class: status }, status.toUpperCase()),
          ` ${identity(result)}`,
          element("small", {}, detail),
        ),
      );
    }),
  );
  $("audit-body").hidden = false;
}

/// Opens row `index`'s object in the object editor, where its lines are marked.
async function openObject(index) {
  const { text } = await ask({ type: "object", index });
  if (!text) {
    $("audit-status").textContent = "That document could not be read: it has no object to open.";
    return;
  }
  $("examples").value = "";
  applyState({ ...state, object: text });
  $("object-editor").scrollIntoView({ block: "start" });
}

const AUDIT_EXPORTS = { ...EXPORTS, json: { file: "podsec-audit.json", type: "application/json" } };

async function exportAudit(format) {
  const target = AUDIT_EXPORTS[format];
  if (!target || !audit.result) return;
  const { text } = await ask({ type: "report", format, seconds: Date.now() / 1000 });
  download(text, target);
  $("audit-status").textContent = `Exported ${target.file}.`;
}

function setUpAudit() {
  for (const dump of dumps) $("audit-pick").append(element("option", { value: dump.name }, dump.name));
  $("audit-pick").addEventListener("change", (event) => {
    const dump = dumps.find((d) => d.name === event.target.value);
    event.target.value = "";
    if (dump) runAudit(dump.text, dump.name);
  });
  const readFile = async (file) => {
    const chosen = performance.now();
    runAudit(await file.text(), file.name, chosen);
  };
  $("audit-file").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) readFile(file);
  });
  const drop = $("audit-drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const [file] = event.dataTransfer.files;
    if (file) readFile(file);
  });
  $("audit-editor").addEventListener("click", () => runAudit(state.object, "the object editor's text"));
  $("audit-filter-check").addEventListener("change", (event) => {
    audit.check = event.target.value;
    renderAudit();
  });
  $("audit-filter-namespace").addEventListener("change", (event) => {
    audit.namespace = event.target.value;
    renderAudit();
  });
  $("audit-export").addEventListener("change", (event) => {
    exportAudit(event.target.value);
    event.target.value = "";
  });
}

async function start() {
  // Timings for `make bench` (milliseconds since navigation start).
  window.podsecPlayground = {
    scriptStartMs: started,
    engineReadyMs: null,
    firstEvaluationMs: null,
    examples: examples.length,
    timeEvaluation,
    // The object editor's text, for the browser tests.
    objectText: () => objectEditor.state.doc.toString(),
  };
  await init({ module_or_path: engineBytes });
  window.podsecPlayground.engineReadyMs = performance.now();
  info = JSON.parse(about());
  $("versions").textContent = `podsec ${info.podsec} · Pod Security Standards v1.0–${info.pss} (latest = ${info.pss})`;
  objectEditor = createEditor($("object-editor"), "", (text) => {
    state.object = text;
    edited();
  }, "Object manifest");
  settingsEditor = createEditor($("settings-editor"), "", (text) => {
    state.settings = text;
    edited();
  }, "Settings");
  setUpControls();
  setUpAudit();
  setUpFix();
  const restored = await decodeState(location.hash);
  if (restored) applyState(restored);
  else {
    $("examples").value = DEFAULT_EXAMPLE;
    loadExample(DEFAULT_EXAMPLE);
  }
  window.podsecPlayground.ready = true;
}

start().catch((error) => {
  $("verdict-body").replaceChildren(element("p", { class: "result error" }, `The playground could not start: ${error}`));
  throw error;
});
