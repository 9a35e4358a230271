// Builds the playground into dist/playground/:
//   1. the engine: bindings/playground (crate playground-engine) for wasm32, wasm-bindgen
//      (`--target web`), then binaryen's wasm-opt;
//   2. the examples menu, read from fixtures/;
//   3. one classic script (the engine's bytes inlined) and one stylesheet, bundled by
//      esbuild, so index.html works from any static server and from the file system.
// `node build.mjs --skip-engine` reuses the engine already in target/playground/pkg.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, copyFileSync } from "node:fs";
import { dirname, join, relative, resolve, basename } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import YAML from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const targetDir = join(root, "target/playground");
const pkgDir = join(targetDir, "pkg");
const outDir = join(root, "dist/playground");
const cargo = process.env.CARGO || "cargo";
const wasmBindgen = process.env.WASM_BINDGEN || "wasm-bindgen";
const wasmOpt = process.env.WASM_OPT || join(root, "tools/wasm-opt/node_modules/.bin/wasm-opt");

// The WebAssembly features rustc enables for wasm32-unknown-unknown (as in module-builder).
const FEATURES = [
  "--enable-bulk-memory",
  "--enable-multivalue",
  "--enable-mutable-globals",
  "--enable-nontrapping-float-to-int",
  "--enable-reference-types",
  "--enable-sign-ext",
];

function run(program, args, options = {}) {
  execFileSync(program, args, { stdio: "inherit", cwd: root, ...options });
}

function buildEngine() {
  run(cargo, [
    "build", "--quiet", "-p", "playground-engine",
    "--target", "wasm32-unknown-unknown", "--profile", "playground", "--target-dir", targetDir,
  ]);
  const raw = join(targetDir, "wasm32-unknown-unknown/playground/playground_engine.wasm");
  run(wasmBindgen, ["--target", "web", "--no-typescript", "--out-name", "engine", "--out-dir", pkgDir, raw]);
  const wasm = join(pkgDir, "engine_bg.wasm");
  if (existsSync(wasmOpt)) {
    run(wasmOpt, ["-Oz", ...FEATURES, wasm, "-o", wasm]);
  } else {
    console.warn(`playground: wasm-opt not found at ${wasmOpt}; the engine is not shrunk`);
  }
}

function walk(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
}

// A YAML node as the text a person would type (flow style kept where the fixture used it).
function yamlText(node) {
  const document = new YAML.Document();
  document.contents = node;
  return document.toString({ lineWidth: 0 });
}

// The examples menu: every fixture that holds an object (not a raw request or bytes), and
// the sample manifests. Level, version, preset and the namespace-labels mode go to the
// pickers, the rest of the settings to the settings editor. A fixture's `cluster` (the
// Namespaces the policy asks about) goes into the object editor above the object: in the
// namespace-labels mode the playground reads its cluster from there.
function examples() {
  const fixtures = join(root, "fixtures");
  const out = [];
  for (const path of walk(fixtures)) {
    const rel = relative(fixtures, path);
    const group = rel.split("/")[0];
    if (group === "manifests") {
      if (!/\.(ya?ml|json)$/.test(path)) continue;
      out.push({ id: rel, group: "sample manifests", title: basename(path), description: "", object: readFileSync(path, "utf8"), settings: "", mode: "fixed", level: "baseline", version: "latest", preset: "" });
      continue;
    }
    if (!path.endsWith(".yaml") || group === "bad-input") continue;
    const document = YAML.parseDocument(readFileSync(path, "utf8"));
    const object = document.get("object", true);
    if (!object) continue;
    const settings = document.get("settings", true);
    const plain = settings ? settings.toJSON() : {};
    const labelled = plain?.namespaceLabels === true || typeof plain?.kind === "string";
    const picked = labelled
      ? { mode: "labels", level: "baseline", version: "latest", preset: plain.preset ?? "" }
      : { mode: "fixed", level: plain.level ?? "baseline", version: plain.version ?? "latest", preset: plain.preset ?? "" };
    // In the namespace-labels mode the level and version pickers do not apply: a fixed level
    // the fixture sets stays in the settings text (where it conflicts, as the fixture says).
    if (settings && YAML.isMap(settings)) {
      for (const key of labelled ? ["preset", "namespaceLabels"] : ["level", "version", "preset"]) settings.delete(key);
    }
    const rest = settings && YAML.isMap(settings) && settings.items.length > 0 ? yamlText(settings) : "";
    const cluster = document.get("cluster", true);
    // Block style: each cluster object becomes a document of its own.
    const above = YAML.isSeq(cluster) ? cluster.items.map((item) => `${new YAML.Document(item.toJSON()).toString({ lineWidth: 0 })}---\n`).join("") : "";
    out.push({
      id: rel,
      group,
      title: basename(rel, ".yaml"),
      description: String(document.get("description") ?? ""),
      object: above + yamlText(object),
      settings: rest,
      ...picked,
    });
  }
  return out;
}

async function bundle() {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(targetDir, "examples.json"), JSON.stringify(examples()));
  // The cluster dumps the audit offers to pick: fixtures/clusters.
  const clusters = join(root, "fixtures/clusters");
  const dumps = readdirSync(clusters).sort().map((name) => ({ name, text: readFileSync(join(clusters, name), "utf8") }));
  writeFileSync(join(targetDir, "dumps.json"), JSON.stringify(dumps));
  const version = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).version ?? "";
  // The audit worker: its own script, without the engine's bytes (the page posts them),
  // inlined in the page's script as text and started from a blob: URL, so the page still
  // works from any static server and from the file system.
  await esbuild.build({
    entryPoints: [join(here, "src/worker.js")],
    bundle: true,
    format: "iife",
    minify: true,
    target: ["chrome110", "firefox110", "safari16"],
    alias: { "podsec-engine": join(pkgDir, "engine.js") },
    outfile: join(targetDir, "worker.txt"),
    logLevel: "warning",
    logOverride: { "empty-import-meta": "silent" },
  });
  await esbuild.build({
    entryPoints: [join(here, "src/main.js")],
    bundle: true,
    format: "iife",
    minify: true,
    target: ["chrome110", "firefox110", "safari16"],
    loader: { ".wasm": "binary", ".txt": "text" },
    alias: { "podsec-engine": join(pkgDir, "engine.js"), "podsec-engine-wasm": join(pkgDir, "engine_bg.wasm"), "podsec-examples": join(targetDir, "examples.json"), "podsec-worker": join(targetDir, "worker.txt"), "podsec-dumps": join(targetDir, "dumps.json") },
    define: { PLAYGROUND_VERSION: JSON.stringify(version) },
    outfile: join(outDir, "playground.js"),
    logLevel: "warning",
    // wasm-bindgen's loader reads import.meta.url only when given no module; we give it the
    // inlined bytes.
    logOverride: { "empty-import-meta": "silent" },
  });
  await esbuild.build({
    entryPoints: [join(here, "src/style.css")],
    bundle: true,
    minify: true,
    outfile: join(outDir, "playground.css"),
    logLevel: "warning",
  });
  copyFileSync(join(here, "index.html"), join(outDir, "index.html"));
  copyFileSync(join(pkgDir, "engine_bg.wasm"), join(outDir, "engine.wasm"));
  const size = (file) => statSync(join(outDir, file)).size;
  const sizes = { engine_wasm_bytes: size("engine.wasm"), script_bytes: size("playground.js"), stylesheet_bytes: size("playground.css") };
  writeFileSync(join(outDir, "sizes.json"), JSON.stringify(sizes, null, 2) + "\n");
  console.log(
    `dist/playground: engine ${(sizes.engine_wasm_bytes / 1000).toFixed(1)} KB wasm, ` +
      `playground.js ${(sizes.script_bytes / 1000).toFixed(1)} KB (engine inlined), playground.css ${(sizes.stylesheet_bytes / 1000).toFixed(1)} KB`,
  );
}

if (!process.argv.includes("--skip-engine")) buildEngine();
await bundle();
