//! The requests every runtime is fed: podsec's fixtures and the PSA conformance corpus.

use policy_core::cluster::Snapshot;
use policy_core::manifest::{create_request, documents, request_for, validation_request};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

#[path = "../../../policy-core/tests/support/fixture_files.rs"]
mod support;
use support::fixture_files;

/// One `ValidationRequest`, with where it came from.
pub struct Case {
    pub name: String,
    pub request: Vec<u8>,
    /// The cluster the host answers the module's host calls from (a fixture's `cluster`).
    pub cluster: Option<Arc<Snapshot>>,
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The PSA corpus folder, or `None` (a loud skip; a failure under CI).
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PSA_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/conformance/psa"));
    if dir.join("cases.json").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the PSA conformance corpus is missing at {}",
        dir.display()
    );
    eprintln!("*** SKIPPING the PSA corpus: none at {} ***", dir.display());
    None
}

#[derive(Deserialize)]
struct CorpusEntry {
    id: String,
    level: String,
    version: String,
    path: String,
}

/// Every corpus case at its own level and version.
pub fn corpus_cases() -> Vec<Case> {
    let Some(dir) = corpus_dir() else {
        return Vec::new();
    };
    let index = std::fs::read_to_string(dir.join("cases.json")).expect("cases.json");
    let entries: Vec<CorpusEntry> = serde_json::from_str(&index).expect("cases.json parses");
    assert_eq!(entries.len(), 4537);
    entries
        .into_iter()
        .map(|entry| {
            let yaml = std::fs::read_to_string(dir.join(&entry.path)).expect("fixture");
            let pod: Value = serde_saphyr::from_str(&yaml).expect("YAML");
            let settings = json!({"level": entry.level, "version": entry.version});
            let request = validation_request(create_request(pod), &settings);
            Case {
                name: entry.id,
                request: serde_json::to_vec(&request).expect("serializes"),
                cluster: None,
            }
        })
        .collect()
}

/// Every fixture's request (the same bytes the policy-core fixture test evaluates).
pub fn fixture_cases() -> Vec<Case> {
    let root = repo_root().join("fixtures");
    let files = fixture_files(&root);
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("fixture");
            let fixture: Value = serde_saphyr::from_str(&text).expect("fixture YAML");
            let settings = fixture.get("settings").cloned().unwrap_or(Value::Null);
            let request = if let Some(raw) = fixture.get("raw").and_then(Value::as_str) {
                raw.as_bytes().to_vec()
            } else if let Some(object) = fixture.get("object") {
                let doc = documents(object.clone()).remove(0);
                serde_json::to_vec(&request_for(doc, &settings)).expect("serializes")
            } else {
                let request = fixture.get("request").cloned().expect("request");
                serde_json::to_vec(&validation_request(request, &settings)).expect("serializes")
            };
            let cluster = fixture.get("cluster").map(|objects| {
                let mut cluster = Snapshot::new();
                for object in objects.as_array().expect("cluster is a list") {
                    assert!(cluster.add(object), "a v1 Namespace or Pod");
                }
                Arc::new(cluster)
            });
            Case {
                name: path
                    .strip_prefix(&root)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
                request,
                cluster,
            }
        })
        .collect()
}

/// A compiled-module cache shared by the tests of one run, so the module compiles once.
pub fn test_cache_dir() -> PathBuf {
    std::env::temp_dir().join("podsec-test-cache")
}
