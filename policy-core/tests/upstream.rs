//! Upstream's own unit tables (`fixtures/upstream/`, one file per `policy/check_*_test.go` of
//! Pod Security Admission): each row's pod is evaluated at the file's level and version, and
//! the finding of the file's check must have upstream's reason, detail and field paths.

use policy_core::{evaluate, CheckId};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    /// The upstream test file.
    upstream: String,
    check: String,
    version: String,
    cases: Vec<Row>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    /// The Go test function.
    test: String,
    /// The table row's name.
    name: String,
    /// Overrides the file's check (a file may hold two checks' tests).
    #[serde(default)]
    check: Option<String>,
    /// Overrides the file's version (a test of another versioned check).
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    metadata: Value,
    spec: Value,
    #[serde(default)]
    allowed: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    /// Upstream's field error list, compared as a set.
    #[serde(default)]
    paths: Option<Vec<String>>,
}

/// The AdmissionRequest for a row's pod: used as is, so no API server defaulting applies
/// (upstream's tests call the check functions on the pod as written).
fn request(row: &Row, level: &str, version: &str) -> Vec<u8> {
    let mut metadata = if row.metadata.is_object() {
        row.metadata.clone()
    } else {
        json!({})
    };
    metadata["name"] = json!("upstream");
    let request = json!({
        "request": {
            "uid": "upstream", "operation": "CREATE", "namespace": "default",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "userInfo": {"username": ""},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": row.spec},
        },
        "settings": {"level": level, "version": version},
    });
    serde_json::to_vec(&request).expect("serializes")
}

fn check_row(table: &Table, row: &Row) -> Result<(), String> {
    let check_name = row.check.as_deref().unwrap_or(&table.check);
    let check = CheckId::parse(check_name).ok_or(format!("unknown check {check_name}"))?;
    let version = row.version.as_deref().unwrap_or(&table.version);
    let evaluation = evaluate(&request(row, check.level().as_str(), version))
        .map_err(|e| format!("not evaluated: {e}"))?;
    let finding = evaluation
        .verdict
        .findings
        .iter()
        .find(|f| f.check == check);
    match (row.allowed, finding) {
        (true, None) => Ok(()),
        (true, Some(finding)) => Err(format!("expected allowed, got {:?}", finding.text())),
        (false, None) => Err("expected a finding, got none".to_owned()),
        (false, Some(finding)) => {
            let want_reason = row
                .reason
                .as_deref()
                .ok_or("a row needs reason or allowed")?;
            let want_detail = row.detail.as_deref().unwrap_or("");
            if finding.reason != want_reason || finding.detail != want_detail {
                return Err(format!(
                    "\n  got  {:?}: {:?}\n  want {want_reason:?}: {want_detail:?}",
                    finding.reason, finding.detail
                ));
            }
            if let Some(want) = &row.paths {
                let mut got: Vec<&str> = finding.fields.iter().map(|f| f.path.as_str()).collect();
                let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
                got.sort_unstable();
                want.sort_unstable();
                if got != want {
                    return Err(format!("paths {got:?}, want {want:?}"));
                }
            }
            Ok(())
        }
    }
}

#[test]
fn upstream_unit_tables() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/upstream");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/upstream is readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let (mut rows, mut failures) = (0, Vec::new());
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let table: Table = serde_saphyr::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not an upstream table: {e}", path.display()));
        for row in &table.cases {
            rows += 1;
            if let Err(why) = check_row(&table, row) {
                failures.push(format!(
                    "{} {}/{}: {why}",
                    table.upstream, row.test, row.name
                ));
            }
        }
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    println!(
        "upstream tables: {} passed, {} failed",
        rows - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} upstream rows failed",
        failures.len()
    );
    assert!(rows >= 90, "expected every table's rows, found {rows}");
}
