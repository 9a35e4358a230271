//! The upstream Pod Security Admission conformance corpus: every fixture evaluated at its own
//! level and version must get PSA's verdict, failing checks and detail text.
//!
//! The corpus lives outside the repository (`../shared/conformance/psa`, or
//! `PSA_CONFORMANCE_DIR`). Under `CI=true` a missing corpus fails the test.

use policy_core::evaluate;
use policy_core::manifest::{create_request, validation_request};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Deserialize)]
struct Case {
    id: String,
    level: String,
    version: String,
    expect: String,
    path: String,
    failing_checks: Vec<String>,
    forbidden_detail: Option<String>,
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("PSA_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/psa"),
    };
    if dir.join("cases.json").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the PSA conformance corpus is missing at {} (set PSA_CONFORMANCE_DIR)",
        dir.display()
    );
    eprintln!(
        "\n*** SKIPPING PSA conformance: no corpus at {} (set PSA_CONFORMANCE_DIR) ***\n",
        dir.display()
    );
    None
}

#[test]
fn psa_conformance_corpus() {
    let Some(dir) = corpus_dir() else { return };
    let index = std::fs::read_to_string(dir.join("cases.json")).expect("cases.json is readable");
    let cases: Vec<Case> = serde_json::from_str(&index).expect("cases.json parses");
    let mut failures = Vec::new();
    for case in &cases {
        let yaml = std::fs::read_to_string(dir.join(&case.path)).expect("fixture is readable");
        let pod: Value = serde_saphyr::from_str(&yaml).expect("fixture is YAML");
        let settings = json!({"level": case.level, "version": case.version});
        let request = validation_request(create_request(pod), &settings);
        let bytes = serde_json::to_vec(&request).expect("request serializes");
        let evaluation = match evaluate(&bytes) {
            Ok(evaluation) => evaluation,
            Err(error) => {
                failures.push(format!("{}: error {error}", case.id));
                continue;
            }
        };
        let verdict = &evaluation.verdict;
        let allowed = case.expect == "allow";
        if verdict.allowed != allowed || evaluation.response.accepted != allowed {
            failures.push(format!(
                "{}: expected {}, got {:?}",
                case.id, case.expect, verdict.message
            ));
            continue;
        }
        let checks: Vec<&str> = verdict.findings.iter().map(|f| f.check.as_str()).collect();
        if checks != case.failing_checks {
            failures.push(format!(
                "{}: failing checks {checks:?}, expected {:?}",
                case.id, case.failing_checks
            ));
            continue;
        }
        if let Some(detail) = &case.forbidden_detail {
            let want = format!(
                "violates PodSecurity \"{}:{}\": {detail}",
                case.level, case.version
            );
            if verdict.message.as_deref() != Some(want.as_str()) {
                failures.push(format!(
                    "{}:\n  got  {:?}\n  want {want:?}",
                    case.id, verdict.message
                ));
            }
        }
    }
    let failed = failures.len();
    let passed = cases.len() - failed;
    for failure in failures.iter().take(40) {
        eprintln!("{failure}");
    }
    println!("psa conformance: {passed} passed, {failed} failed");
    assert_eq!(cases.len(), 4537, "the corpus should have 4,537 cases");
    assert_eq!(failed, 0, "{failed} PSA conformance cases failed");
}
