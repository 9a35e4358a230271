//! Reading what `podsec check` is given: files (YAML with any number of documents, or
//! JSON), folders (recursively, `.yaml`, `.yml` and `.json`), and standard input. Each
//! document is parsed on its own (policy-core's `documents`), so one bad document is
//! reported with its file and line and the others are still judged.

use anyhow::{Context as _, Result};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The files to read for `paths`: files as given, folders walked recursively in name
/// order, `-` for standard input.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" || !path.is_dir() {
            files.push(path.clone());
        } else {
            walk(path, &mut files)?;
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read folder {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            files.push(path);
        }
    }
    Ok(())
}

/// Reads one file (or standard input) as text; the error names the file.
pub fn read_text(path: &Path) -> Result<String, String> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read_to_string(path)
    };
    text.map_err(|error| format!("cannot read {}: {error}", path.display()))
}
