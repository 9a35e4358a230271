//! Replays fuzz corpora through the real policy module and natively, counting traps and
//! disagreements: the guest must never panic (a panic is a trap in the host) and the two
//! paths must answer alike on every input the fuzzer kept.
//!
//! Usage: cargo run --release --example replay_corpus -- fuzz/corpus
//! (reads the `validate_bytes`, `settings` and `manifests` folders beneath it)
use podsec::module::PolicyModule;
use podsec::runtime::{CallError, SandboxConfig};
use policy_core::manifest::{documents, request_for};
use std::path::Path;

fn files(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if let Ok(bytes) = std::fs::read(entry.path()) {
                out.push(bytes);
            }
        }
    }
    out
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus".to_owned());
    let root = Path::new(&root);
    let module = PolicyModule::load(None, SandboxConfig::default()).expect("module loads");
    let policy = module.policy();
    let (mut inputs, mut traps, mut other_errors, mut disagreements) =
        (0usize, 0usize, 0usize, 0usize);
    let mut check = |operation: &str, payload: &[u8], native: Vec<u8>| {
        inputs += 1;
        match policy.call(operation, payload) {
            Ok(answer) => {
                let module_value: serde_json::Value =
                    serde_json::from_slice(&answer).unwrap_or_default();
                let native_value: serde_json::Value =
                    serde_json::from_slice(&native).unwrap_or_default();
                if module_value != native_value {
                    disagreements += 1;
                }
            }
            Err(CallError::Trap(trap)) => {
                traps += 1;
                eprintln!("trap: {trap}");
            }
            Err(other) => {
                other_errors += 1;
                eprintln!("error: {other}");
            }
        }
    };
    for bytes in files(&root.join("validate_bytes")) {
        let native = serde_json::to_vec(&policy_core::validate(&bytes)).unwrap_or_default();
        check("validate", &bytes, native);
    }
    for bytes in files(&root.join("settings")) {
        let native =
            serde_json::to_vec(&policy_core::validate_settings(&bytes)).unwrap_or_default();
        check("validate_settings", &bytes, native);
    }
    let settings = serde_json::json!({"level": "restricted"});
    for bytes in files(&root.join("manifests")) {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        for document in policy_core::documents::parse_documents("corpus", text) {
            let Ok(value) = document.content else {
                continue;
            };
            for object in documents(value) {
                let request =
                    serde_json::to_vec(&request_for(object, &settings)).unwrap_or_default();
                let native =
                    serde_json::to_vec(&policy_core::validate(&request)).unwrap_or_default();
                check("validate", &request, native);
            }
        }
    }
    println!("replayed {inputs} inputs through the module: {traps} traps, {other_errors} other errors, {disagreements} disagreements with native");
    if traps + other_errors + disagreements > 0 {
        std::process::exit(1);
    }
}
