//! The fixture files under `fixtures/`, shared by policy-core's fixture test and the host's
//! runtime tests (each includes this file with `#[path]`).

use std::path::{Path, PathBuf};

/// Every fixture file below `dir`, in name order. `fixtures/manifests/` holds plain
/// manifests for `podsec check` and `fixtures/upstream/` upstream's unit tables
/// (`policy-core/tests/upstream.rs`): neither holds fixtures.
pub fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the fixtures directory is readable")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n != "manifests" && n != "upstream" && n != "clusters")
            {
                walk(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}
