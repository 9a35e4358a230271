// `make bench`'s playground figures: the engine's size, the time from navigation to the
// first verdict on screen (page from the file system, fresh browser context each run), and
// one evaluation of the default example in the page, and the audit of a 5,000-object cluster
// dump (target/playground/dump-5000.json, written by `bench-report --dump`): from choosing the
// file to the full overview on screen. Writes target/playground/measure.json.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const site = join(root, "dist/playground");
const RUNS = 15;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const round = (value, places = 1) => Math.round(value * 10 ** places) / 10 ** places;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const first = [];
const engine = [];
let evaluationUs = [];
for (let run = 0; run < RUNS; run += 1) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(pathToFileURL(join(site, "index.html")).href);
  await page.waitForFunction(() => window.podsecPlayground?.firstEvaluationMs > 0);
  const timings = await page.evaluate(() => ({ ...window.podsecPlayground }));
  first.push(timings.firstEvaluationMs);
  engine.push(timings.engineReadyMs);
  if (run === RUNS - 1) {
    evaluationUs = await page.evaluate(() => [0, 1, 2, 3, 4].map(() => window.podsecPlayground.timeEvaluation(2000)));
  }
  await context.close();
}
// The audit: a fresh page per run, the dump chosen in the file input.
const dumpFile = join(root, "target/playground/dump-5000.json");
let audit = null;
if (existsSync(dumpFile)) {
  const buffer = readFileSync(dumpFile);
  const objects = JSON.parse(buffer.toString("utf8")).items.length;
  const audits = [];
  for (let run = 0; run < 5; run += 1) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(pathToFileURL(join(site, "index.html")).href);
    await page.waitForFunction(() => window.podsecPlayground?.ready);
    await page.locator("#audit-file").setInputFiles({ name: "dump-5000.json", mimeType: "application/json", buffer });
    await page.waitForFunction(() => Number(document.body.dataset.audits) > 0, null, { timeout: 120000 });
    audits.push(await page.evaluate(() => window.podsecPlayground.auditMs));
    await context.close();
  }
  audit = { objects, runs: audits.length, ms: round(median(audits)), ms_min: round(Math.min(...audits)), ms_max: round(Math.max(...audits)) };
} else {
  console.warn(`playground: ${dumpFile} is missing (bench-report --dump writes it); the audit is not measured`);
}
await browser.close();

const sizes = JSON.parse(readFileSync(join(site, "sizes.json"), "utf8"));
const result = {
  ...sizes,
  runs: RUNS,
  first_evaluation_ms: round(median(first)),
  first_evaluation_ms_min: round(Math.min(...first)),
  first_evaluation_ms_max: round(Math.max(...first)),
  engine_ready_ms: round(median(engine)),
  evaluation_us: round(median(evaluationUs)),
  audit,
};
writeFileSync(join(root, "target/playground/measure.json"), JSON.stringify(result, null, 2) + "\n");
console.log(`playground: ${JSON.stringify(result)}`);
