// Browser tests: the built playground (dist/playground) in real headless Chromium, driven
// by playwright-core. Run by `make test` (after `make playground`) and by CI.
//
// Environment: CHROMIUM (default /usr/bin/chromium), PODSEC_BIN (default: the newest of
// target/debug/podsec and target/release/podsec), SCREENSHOT (default
// dist/playground-denied.png).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import YAML from "yaml";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const site = join(root, "dist/playground");
const screenshot = process.env.SCREENSHOT || join(root, "dist/playground-denied.png");

const PRIVILEGED_POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: app
      image: nginx:1.27
      ports:
        - containerPort: 80
      securityContext:
        privileged: true
`;

function podsecBinary() {
  if (process.env.PODSEC_BIN) return process.env.PODSEC_BIN;
  const candidates = ["target/debug/podsec", "target/release/podsec"]
    .map((p) => join(root, p))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  assert.ok(candidates.length > 0, "no podsec binary: build it first (cargo build -p podsec)");
  return candidates[0];
}

/// A cluster dump as `kubectl get ns,pods,deploy -A -o json` prints it: `count` objects in
/// `namespaces` namespaces, every seventh failing baseline in one of three ways.
function clusterDump(count, namespaces = 12) {
  const items = [];
  for (let n = 0; n < namespaces; n += 1) items.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: `team-${n}` } });
  for (let i = items.length; i < count; i += 1) {
    const spec = { containers: [{ name: "app", image: `registry.example.com/app-${i % 9}:1.0`, securityContext: { allowPrivilegeEscalation: false } }] };
    if (i % 7 === 0) spec.hostNetwork = true;
    if (i % 7 === 3) spec.containers[0].securityContext.privileged = true;
    if (i % 7 === 5) spec.containers[0].securityContext.capabilities = { add: ["SYS_ADMIN"] };
    const metadata = { name: `app-${i}`, namespace: `team-${i % namespaces}` };
    items.push(
      i % 10 === 9
        ? { apiVersion: "apps/v1", kind: "Deployment", metadata, spec: { selector: { matchLabels: { app: "x" } }, template: { metadata: { labels: { app: "x" } }, spec } } }
        : { apiVersion: "v1", kind: "Pod", metadata, spec },
    );
  }
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

/// `podsec check --format json` on `text` with `settings`; the report.
function podsecCheck(text, settings = {}) {
  const dir = mkdtempSync(join(tmpdir(), "podsec-playground-"));
  const file = join(dir, "pod.yaml");
  writeFileSync(file, text);
  let output;
  try {
    output = execFileSync(podsecBinary(), ["check", "--format", "json", "--settings-json", JSON.stringify(settings), file], { encoding: "utf8", maxBuffer: 1 << 28 });
  } catch (error) {
    output = error.stdout; // exit status 1: something was denied
  }
  return JSON.parse(output);
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };

let server;
let base;
let browser;

before(async () => {
  assert.ok(existsSync(join(site, "index.html")), "dist/playground is not built: run `make playground`");
  server = createServer((request, response) => {
    const path = join(site, decodeURIComponent(new URL(request.url, "http://x").pathname));
    const file = path.endsWith("/") ? join(path, "index.html") : path;
    if (!file.startsWith(site) || !existsSync(file) || statSync(file).isDirectory()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    response.end(readFileSync(file));
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/// A fresh page at `url` (with its console errors collected), ready once the first
/// evaluation has rendered.
async function open(url = base, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(url);
  await page.waitForFunction(() => window.podsecPlayground?.ready && Number(document.body.dataset.evaluations) > 0);
  return { page, errors, context };
}

/// Replaces the object editor's text as typing would, and waits for the new verdict.
async function typeObject(page, text, editor = "object-editor") {
  const before = await page.evaluate(() => Number(document.body.dataset.evaluations));
  await page.locator(`[data-testid=${editor}] .cm-content`).click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.insertText(text);
  await page.waitForFunction((n) => Number(document.body.dataset.evaluations) > n, before);
}

async function pick(page, testid, value) {
  const before = await page.evaluate(() => Number(document.body.dataset.evaluations));
  await page.getByTestId(testid).selectOption(value);
  await page.waitForFunction((n) => Number(document.body.dataset.evaluations) > n, before);
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const checksShown = (page) => page.getByTestId("violation").evaluateAll((rows) => rows.map((r) => r.dataset.check));

describe("the playground in headless Chromium", () => {
  test("loads from a static server with no console errors and shows the versions", async () => {
    const { page, errors, context } = await open();
    const versions = await page.getByTestId("versions").textContent();
    assert.match(versions, /^podsec \d+\.\d+\.\d+ · Pod Security Standards v1\.0–v1\.\d+/);
    assert.ok((await page.getByTestId("examples").locator("option").count()) > 50);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("works from the file system too", async () => {
    const { page, errors, context } = await open(pathToFileURL(join(site, "index.html")).href);
    await typeObject(page, PRIVILEGED_POD);
    assert.deepEqual(await checksShown(page), ["privileged"]);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a typed privileged pod is denied with podsec check's message, and its line is marked", async () => {
    const { page, errors, context } = await open();
    await typeObject(page, PRIVILEGED_POD);
    const shown = await page.getByTestId("message").textContent();
    const [cli] = podsecCheck(PRIVILEGED_POD).results;
    assert.equal(cli.allowed, false);
    assert.equal(shown, cli.message);
    assert.equal(shown, 'violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)');
    // Every violating line carries a gutter marker.
    assert.equal(await page.locator("[data-testid=object-editor] .cm-podsec-marker:not(.spacer)").count(), 1);
    const marked = await page.locator("[data-testid=object-editor] .cm-line.cm-podsec-violation").allTextContents();
    assert.deepEqual(marked.map((l) => l.trim()), ["privileged: true"]);

    await page.screenshot({ path: screenshot });
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("clicking a violation highlights its line", async () => {
    const { page, context } = await open();
    await typeObject(page, PRIVILEGED_POD);
    await page.getByTestId("violation").first().click();
    const active = page.locator("[data-testid=object-editor] .cm-line.cm-podsec-active");
    await active.waitFor();
    assert.equal((await active.textContent()).trim(), "privileged: true");
    await context.close();
  });

  test("the keyboard reaches a violation and Enter highlights its line", async () => {
    const { page, context } = await open();
    await typeObject(page, PRIVILEGED_POD);
    await page.getByTestId("share").focus();
    let reached = false;
    for (let i = 0; i < 40 && !reached; i += 1) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => document.activeElement?.dataset.testid === "violation");
    }
    assert.ok(reached, "Tab never reached a violation row");
    await page.keyboard.press("Enter");
    const active = page.locator("[data-testid=object-editor] .cm-line.cm-podsec-active");
    await active.waitFor();
    assert.equal((await active.textContent()).trim(), "privileged: true");
    await context.close();
  });

  test("switching the level to restricted adds the restricted violations", async () => {
    const { page, context } = await open();
    await typeObject(page, PRIVILEGED_POD);
    assert.deepEqual(await checksShown(page), ["privileged"]);
    await pick(page, "level", "restricted");
    const checks = await checksShown(page);
    const [cli] = podsecCheck(PRIVILEGED_POD, { level: "restricted" }).results;
    assert.deepEqual(checks, cli.violations.map((v) => v.check));
    for (const check of ["privileged", "allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot", "seccompProfile_restricted"]) {
      assert.ok(checks.includes(check), `${check} missing from ${checks}`);
    }
    assert.equal(await page.getByTestId("message").textContent(), cli.message);
    await context.close();
  });

  test("every example in the menu evaluates to its fixture's expected verdict", async () => {
    const { page, errors, context } = await open();
    const ids = await page.getByTestId("examples").locator("option").evaluateAll((options) => options.map((o) => o.value).filter(Boolean));
    let compared = 0;
    let labelled = 0;
    for (const id of ids) {
      await pick(page, "examples", id);
      if (id.startsWith("manifests/")) {
        assert.ok((await page.getByTestId("result").count()) > 0, id);
        continue;
      }
      const fixture = YAML.parse(readFileSync(join(root, "fixtures", id), "utf8"));
      if (fixture.expect.error) {
        assert.match(await page.getByTestId("settings-error").textContent(), new RegExp(escapeRegExp(fixture.expect.error)), id);
        compared += 1;
        continue;
      }
      // A fixture's cluster is in the editor above its object: the object is the last result.
      const results = page.getByTestId("result");
      assert.equal(await results.count(), (fixture.cluster ?? []).length + 1, id);
      const card = results.last();
      const allowed = (await card.getAttribute("data-allowed")) === "true";
      assert.equal(allowed, fixture.expect.allowed, `${id}: allowed`);
      if (fixture.expect.message) {
        assert.equal(await card.getByTestId("message").textContent(), fixture.expect.message, `${id}: message`);
      }
      if (fixture.expect.skipped) {
        assert.equal(await card.locator(".badge").textContent(), "Skipped", `${id}: skipped`);
      }
      if (fixture.expect.warnings) {
        assert.deepEqual(await card.getByTestId("warning").allTextContents(), fixture.expect.warnings, `${id}: warnings`);
      }
      if (fixture.expect.annotations) {
        const shown = await card.locator("dd[data-annotation]").evaluateAll((rows) => Object.fromEntries(rows.map((r) => [r.dataset.annotation, r.textContent])));
        assert.deepEqual(shown, fixture.expect.annotations, `${id}: annotations`);
      }
      if (fixture.expect.policy) {
        assert.equal(await card.getByTestId("policy").locator("code").textContent(), fixture.expect.policy, `${id}: policy`);
      }
      if ((await page.getByTestId("mode").inputValue()) === "labels") labelled += 1;
      compared += 1;
    }
    assert.ok(compared > 60, `only ${compared} fixtures compared`);
    assert.ok(labelled > 15, `only ${labelled} examples in the namespace-labels mode`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("namespace labels: the Namespace in the editor decides, warn and audit are shown, the share URL keeps the mode", async () => {
    const { page, errors, context } = await open();
    const shop = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/audit: restricted
---
`;
    const compliant = PRIVILEGED_POD.replace("      securityContext:\n        privileged: true\n", "");
    await typeObject(page, shop + compliant);
    // Fixed level (baseline): the Namespace is not a kind podsec evaluates, the pod passes.
    assert.equal(await page.getByTestId("level").isDisabled(), false);
    assert.equal(await page.getByTestId("summary").textContent(), "2 objects: 1 allowed, 0 denied, 1 skipped.");
    await pick(page, "mode", "labels");
    // Namespace labels: the Namespace's own labels are checked, so it counts as allowed.
    assert.equal(await page.getByTestId("summary").textContent(), "2 objects: 2 allowed, 0 denied.");
    assert.equal(await page.getByTestId("level").isDisabled(), true);
    assert.equal(await page.getByTestId("mode-help").isVisible(), true);
    const pod = page.getByTestId("result").last();
    assert.equal(await pod.getAttribute("data-allowed"), "true");
    assert.equal(await pod.getByTestId("policy").locator("code").textContent(), "enforce=baseline:latest, audit=restricted:latest, warn=restricted:latest");
    const [warning] = await pod.getByTestId("warning").allTextContents();
    assert.match(warning, /^would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
    assert.equal(await pod.locator('dd[data-annotation="audit-violations"]').textContent(), warning);
    assert.equal(await pod.locator('dd[data-annotation="enforce-policy"]').textContent(), "baseline:latest");
    // The same pod, privileged: denied with PSA's message at the namespace's enforce level.
    await typeObject(page, shop + PRIVILEGED_POD);
    const denied = page.getByTestId("result").last();
    assert.equal(await denied.getAttribute("data-allowed"), "false");
    assert.match(await denied.getByTestId("message").textContent(), /^violates PodSecurity "baseline:latest": privileged/);
    // Relabel the namespace in the editor: enforce=privileged admits it.
    await typeObject(page, shop.replace("enforce: baseline", "enforce: privileged") + PRIVILEGED_POD);
    assert.equal(await page.getByTestId("result").last().getAttribute("data-allowed"), "true");
    // An invalid label on the Namespace: its own CREATE is refused with PSA's field error.
    await typeObject(page, shop.replace("enforce: baseline", "enforce: strict") + PRIVILEGED_POD);
    const namespace = page.getByTestId("result").first();
    assert.equal(await namespace.getAttribute("data-allowed"), "false");
    assert.match(await namespace.getByTestId("message").textContent(), /^Namespace "shop" is invalid: metadata\.labels\[pod-security\.kubernetes\.io\/enforce\]: Invalid value: "strict"/);
    // Without its Namespace, the pod gets PSA's lookup error and the page says what to add.
    await typeObject(page, PRIVILEGED_POD);
    assert.match(await page.getByTestId("message").textContent(), /^failed to lookup namespace "shop"/);
    assert.equal(await page.getByTestId("hint").count(), 1);
    // The share URL carries the mode.
    await typeObject(page, shop + PRIVILEGED_POD);
    await page.getByTestId("share").click();
    await page.waitForFunction(() => document.querySelector("[data-testid=share-url]").value.includes("#"));
    const url = await page.getByTestId("share-url").inputValue();
    const reopened = await open(url);
    assert.equal(await reopened.page.getByTestId("mode").inputValue(), "labels");
    assert.match(await reopened.page.getByTestId("result").last().getByTestId("message").textContent(), /^violates PodSecurity "baseline:latest"/);
    await reopened.context.close();
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a PodSecurityConfiguration typed in the settings turns the namespace-labels mode on", async () => {
    const { page, context } = await open();
    await typeObject(page, `apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n${PRIVILEGED_POD}`);
    assert.equal(await page.getByTestId("mode").inputValue(), "fixed");
    await typeObject(page, "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\ndefaults:\n  enforce: restricted\n", "settings-editor");
    assert.equal(await page.getByTestId("mode").inputValue(), "labels");
    assert.match(await page.getByTestId("result").last().getByTestId("message").textContent(), /^violates PodSecurity "restricted:latest"/);
    await context.close();
  });

  test("a share URL reopened in a fresh page restores the state and the verdict", async () => {
    const { page, context } = await open();
    await typeObject(page, PRIVILEGED_POD);
    await typeObject(page, "excludedContainers: [sidecar]\n", "settings-editor");
    await pick(page, "level", "restricted");
    await pick(page, "version", "v1.25");
    await page.getByTestId("share").click();
    await page.waitForFunction(() => document.querySelector("[data-testid=share-url]").value.includes("#"));
    const url = await page.getByTestId("share-url").inputValue();
    assert.match(url, /#s=/);
    const verdict = await page.getByTestId("verdict").innerText();
    await context.close();

    const fresh = await open(url);
    assert.equal(await fresh.page.getByTestId("level").inputValue(), "restricted");
    assert.equal(await fresh.page.getByTestId("version").inputValue(), "v1.25");
    const object = await fresh.page.locator("[data-testid=object-editor] .cm-content").innerText();
    assert.match(object, /privileged: true/);
    const settings = await fresh.page.locator("[data-testid=settings-editor] .cm-content").innerText();
    assert.match(settings, /excludedContainers: \[sidecar\]/);
    assert.equal(await fresh.page.getByTestId("verdict").innerText(), verdict);
    assert.match(await fresh.page.getByTestId("message").textContent(), /^violates PodSecurity "restricted:v1\.25"/);
    assert.deepEqual(fresh.errors, []);
    await fresh.context.close();
  });

  test("Export writes what podsec check --format writes", async () => {
    const { page, errors, context } = await open();
    await typeObject(page, PRIVILEGED_POD);
    const cli = podsecCheck(PRIVILEGED_POD);
    for (const [format, file] of [["policy-report", "podsec-policyreport.json"], ["sarif", "podsec.sarif"], ["junit", "podsec-junit.xml"]]) {
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export").selectOption(format)]);
      assert.equal(download.suggestedFilename(), file);
      const text = readFileSync(await download.path(), "utf8");
      if (format === "policy-report") {
        const list = JSON.parse(text);
        assert.equal(list.kind, "List");
        const shop = list.items.find((r) => r.metadata.namespace === "shop");
        assert.equal(shop.kind, "PolicyReport");
        const fail = shop.results.find((r) => r.result === "fail");
        assert.equal(fail.rule, cli.results[0].violations[0].check);
        assert.equal(fail.properties.path, "spec.containers[0].securityContext.privileged");
      } else if (format === "sarif") {
        const sarif = JSON.parse(text);
        assert.equal(sarif.version, "2.1.0");
        assert.equal(sarif.runs[0].results[0].locations[0].physicalLocation.region.startLine, 13);
      } else {
        assert.match(text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="podsec" tests="1" failures="1"/);
      }
    }
    assert.equal(await page.getByTestId("export").inputValue(), "");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("audit: a dropped cluster dump gives podsec check's overview, in a worker, with filters and a click to the object", async () => {
    const { page, errors, context } = await open();
    const dump = clusterDump(4000);
    const cli = podsecCheck(dump, { level: "baseline" });
    // The page must stay free while the worker judges: a timer set when the audit starts
    // fires before the audit ends, and progress arrives in several batches.
    await page.evaluate(() => {
      window.timerFired = null;
      document.getElementById("audit-file").addEventListener("change", () => {
        setTimeout(() => {
          window.timerFired = !window.podsecPlayground.audit;
        }, 0);
      });
    });
    await page.getByTestId("audit-file").setInputFiles({ name: "dump.json", mimeType: "application/json", buffer: Buffer.from(dump) });
    await page.waitForFunction(() => Number(document.body.dataset.audits) > 0, null, { timeout: 60000 });
    const shown = await page.evaluate(() => ({ audit: window.podsecPlayground.audit, progress: window.podsecPlayground.auditProgress, timerFired: window.timerFired }));
    assert.equal(shown.timerFired, true, "the page was blocked during the audit");
    assert.ok(shown.progress > 3, `progress reported ${shown.progress} times`);
    assert.deepEqual(shown.audit.summary, cli.summary);
    assert.deepEqual(shown.audit.overview, cli.overview);
    assert.match(await page.getByTestId("audit-status").textContent(), /^dump\.json: 4,000 objects, /);

    // The chart has a bar per failing check; a bar filters the objects to that check.
    const bars = page.locator("[data-testid=audit-checks] button");
    assert.equal(await bars.count(), cli.overview.checks.length);
    const privileged = cli.overview.checks.find((row) => row.check === "privileged");
    await page.locator("[data-testid=audit-checks] button[data-check=privileged]").click();
    assert.equal(await page.getByTestId("audit-filter-check").inputValue(), "privileged");
    assert.match(await page.getByTestId("audit-count").textContent(), new RegExp(`^${privileged.nonCompliant} objects, the first 300 shown$`));
    // The namespace table and filter.
    const rows = await page.locator("[data-testid=audit-namespaces] tbody tr").count();
    assert.equal(rows, cli.overview.namespaces.length);
    await page.getByTestId("audit-filter-namespace").selectOption("team-3");
    const inTeam3 = cli.results.filter((r) => r.namespace === "team-3" && (r.violations ?? []).some((v) => v.check === "privileged")).length;
    assert.equal(await page.getByTestId("audit-count").textContent(), `${inTeam3} objects`);
    const names = await page.locator("[data-testid=audit-objects] button").allTextContents();
    assert.ok(names.every((n) => n.includes("team-3/")), names.join("\n"));

    // A click opens the object in the editor, judged there with its lines marked.
    const before = await page.evaluate(() => Number(document.body.dataset.evaluations));
    await page.locator("[data-testid=audit-objects] button").first().click();
    await page.waitForFunction((n) => Number(document.body.dataset.evaluations) > n, before);
    assert.deepEqual(await checksShown(page), ["privileged"]);
    assert.equal(await page.locator("[data-testid=object-editor] .cm-line.cm-podsec-violation").count(), 1);

    // Export: the audit as a PolicyReport List.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("audit-export").selectOption("policy-report")]);
    assert.equal(download.suggestedFilename(), "podsec-policyreport.json");
    const list = JSON.parse(readFileSync(await download.path(), "utf8"));
    const fails = list.items.flatMap((report) => report.results).filter((r) => r.result === "fail").length;
    assert.equal(fails, cli.results.flatMap((r) => (r.allowed === false ? r.violations : [])).length);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("audit: a picked sample dump and bad input", async () => {
    const { page, errors, context } = await open();
    await page.getByTestId("audit-pick").selectOption("dump.json");
    await page.waitForFunction(() => Number(document.body.dataset.audits) > 0);
    const cli = JSON.parse(
      (() => {
        try {
          return execFileSync(podsecBinary(), ["check", "--format", "json", join(root, "fixtures/clusters/dump.json")], { encoding: "utf8" });
        } catch (error) {
          return error.stdout;
        }
      })(),
    );
    const audit = await page.evaluate(() => window.podsecPlayground.audit);
    assert.deepEqual(audit.overview, cli.overview);
    // The object editor's own text, unreadable: an error row, nothing to open.
    await typeObject(page, "kind: Pod\nmetadata: [");
    await page.getByTestId("audit-editor").click();
    await page.waitForFunction(() => Number(document.body.dataset.audits) > 1);
    assert.match(await page.getByTestId("audit-status").textContent(), /1 errors/);
    assert.match(await page.getByTestId("audit-objects").textContent(), /^ERROR/);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("invalid YAML shows an error with its line, and marks it", async () => {
    const { page, context } = await open();
    await typeObject(page, "apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n    {name: app\n");
    const error = page.getByTestId("parse-error");
    assert.equal(await error.count(), 1);
    const text = await error.textContent();
    const line = Number(await error.getAttribute("data-line"));
    assert.match(text, new RegExp(`^Line ${line}, column \\d+: .*invalid YAML`));
    assert.ok(line >= 4 && line <= 6, `line ${line}`);
    assert.equal(await page.locator("[data-testid=object-editor] .cm-line.cm-podsec-error").count(), 1);
    await context.close();
  });

  test("invalid settings are reported and nothing is judged", async () => {
    const { page, context } = await open();
    await typeObject(page, "levle: restricted\n", "settings-editor");
    assert.match(await page.getByTestId("settings-error").textContent(), /levle/);
    assert.equal(await page.getByTestId("result").count(), 0);
    await context.close();
  });

  test("a semantic settings error marks the line of the field at fault", async () => {
    const { page, context } = await open();
    await typeObject(page, "allowHostNetwork: false\nallowedHostPaths:\n  - pathPrefix: var/log\n", "settings-editor");
    const error = page.getByTestId("settings-error").locator("button");
    assert.match(await error.textContent(), /^Line 3, column \d+: allowedHostPaths\[0\]\.pathPrefix "var\/log" must be an absolute path/);
    assert.equal(await page.locator("[data-testid=settings-editor] .cm-line.cm-podsec-error").count(), 1);
    await context.close();
  });

  test("the Fix button turns a denied restricted pod into an allowed one, as podsec fix does", async () => {
    const { page, errors, context } = await open();
    await pick(page, "level", "restricted");
    const pod = `# the shop's web pod
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  securityContext:
    runAsNonRoot: true
  containers:
    - name: app
      image: nginx:1.27
      securityContext:
        seccompProfile: {type: Unconfined}
`;
    await typeObject(page, pod);
    assert.match(await page.getByTestId("summary").textContent(), /0 allowed, 1 denied/);
    await page.getByTestId("fix").click();
    await page.getByTestId("fix-panel").waitFor();
    const classes = await page.getByTestId("fix-change").evaluateAll((rows) => rows.map((r) => `${r.dataset.class} ${r.dataset.check}`));
    assert.deepEqual(classes, ["safe allowPrivilegeEscalation", "safe capabilities_restricted", "safe seccompProfile_restricted"]);
    assert.match(await page.getByTestId("fix-summary").textContent(), /^3 changes \(3 safe, 0 needing review\); after the fix: 1 allowed, 0 denied\.$/);
    const added = await page.getByTestId("diff-added").allTextContents();
    assert.ok(added.some((line) => line.includes("allowPrivilegeEscalation: false")), added.join(""));
    assert.ok((await page.getByTestId("diff-removed").allTextContents()).some((line) => line.includes("Unconfined")));
    // Apply: the editor holds what `podsec fix` prints for the same text.
    const before = await page.evaluate(() => Number(document.body.dataset.evaluations));
    await page.getByTestId("fix-apply").click();
    await page.waitForFunction((n) => Number(document.body.dataset.evaluations) > n, before);
    assert.match(await page.getByTestId("summary").textContent(), /^1 object: 1 allowed, 0 denied\.$/);
    assert.ok(await page.getByTestId("fix-panel").isHidden());
    const editorText = await page.evaluate(() => window.podsecPlayground.objectText());
    const cli = execFileSync(podsecBinary(), ["fix", "--level", "restricted", "-"], { input: pod, encoding: "utf8" });
    assert.equal(editorText, cli);
    assert.ok(cli.startsWith("# the shop's web pod\n"), "the comment above the document stays: it is the document's own text");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("Fix: needs-review changes only when asked, and what cannot be fixed is said", async () => {
    const { page, context } = await open();
    await pick(page, "level", "restricted");
    await typeObject(page, PRIVILEGED_POD.replace("privileged: true", "runAsUser: 0"));
    await page.getByTestId("fix").click();
    assert.match(await page.getByTestId("fix-summary").textContent(), /after the fix: 0 allowed, 1 denied/);
    const left = await page.getByTestId("fix-remaining").evaluateAll((rows) => rows.map((r) => `${r.dataset.class} ${r.dataset.check}`));
    assert.deepEqual(left, ["needs-review runAsNonRoot", "needs-review runAsUser"]);
    await page.getByTestId("fix-review").check();
    await page.waitForFunction(() => /after the fix: 1 allowed, 0 denied/.test(document.querySelector("[data-testid=fix-summary]").textContent));
    assert.equal(await page.getByTestId("fix-remaining").count(), 0);
    assert.ok((await page.getByTestId("fix-change").evaluateAll((rows) => rows.map((r) => r.dataset.class))).includes("needs-review"));
    // A privileged pod: nothing to apply, the reason is shown.
    await typeObject(page, PRIVILEGED_POD);
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=fix-remaining][data-class=cannot-fix]").length > 0);
    const reasons = await page.getByTestId("fix-remaining").allTextContents();
    assert.ok(reasons.some((r) => r.includes("a privileged container gets the node's devices")), reasons.join("\n"));
    await context.close();
  });

  test("fits a narrow screen without sideways scrolling", async () => {
    const { page, errors, context } = await open(base, { width: 390, height: 844 });
    await typeObject(page, PRIVILEGED_POD);
    // The audit dashboard too.
    await page.getByTestId("audit-pick").selectOption("dump.json");
    await page.waitForFunction(() => Number(document.body.dataset.audits) > 0);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    const editor = await page.getByTestId("object-editor").boundingBox();
    const verdict = await page.getByTestId("verdict").boundingBox();
    assert.ok(verdict.y >= editor.y + editor.height, "the verdict should stack below the editors");
    assert.deepEqual(errors, []);
    await context.close();
  });
});
