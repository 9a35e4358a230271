// The audit worker: podsec's engine in a Web Worker, judging a whole cluster dump a batch
// at a time and posting its progress, so the page stays responsive. The page sends the
// engine's bytes first (they are inlined in the page's script), then requests:
//   {type: "audit", id, text, settings, overrides} -> progress messages, then "done"
//   {type: "object", id, index}                    -> the object of a row, as JSON text
//   {type: "report", id, format, seconds}          -> the audit as a report
import init, { audit_finish, audit_object, audit_report, audit_start, audit_step } from "podsec-engine";

const BATCH = 250;
let ready;

self.onmessage = async ({ data }) => {
  if (data.type === "init") {
    ready = init({ module_or_path: data.bytes });
    await ready;
    self.postMessage({ type: "ready" });
    return;
  }
  await ready;
  const { id } = data;
  try {
    if (data.type === "audit") {
      const started = performance.now();
      const total = audit_start(data.text, data.settings, data.overrides);
      self.postMessage({ type: "progress", id, done: 0, total });
      let done = 0;
      while (done < total) {
        done = audit_step(BATCH);
        self.postMessage({ type: "progress", id, done, total });
      }
      const audit = JSON.parse(audit_finish());
      self.postMessage({ type: "done", id, audit, ms: performance.now() - started });
    } else if (data.type === "object") {
      self.postMessage({ type: "object", id, text: audit_object(data.index) });
    } else if (data.type === "report") {
      self.postMessage({ type: "report", id, text: audit_report(data.format, data.seconds) });
    }
  } catch (error) {
    self.postMessage({ type: "error", id, message: String(error) });
  }
};
