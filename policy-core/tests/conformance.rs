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

/// Per check: how many denied cases it fails in, and how many of those it still fails
/// after the safe fixes, and after the safe and needs-review fixes.
#[derive(Default)]
struct FixCounts {
    failing: usize,
    after_safe: usize,
    after_review: usize,
}

/// `podsec fix` on every case, at its level and version: allowed cases are left alone;
/// for each denied case what fails after the fixes is classed cannot-fix (with the review
/// fixes) or needs-review/cannot-fix (safe fixes only), and is exactly what a new
/// evaluation of the fixed pod reports; fixing the fixed pod changes nothing; a Windows pod
/// gets no field but `runAsNonRoot`.
#[test]
fn fixing_the_corpus_leaves_only_what_cannot_be_fixed() {
    use policy_core::fix::{fix_object, FixClass, FixOptions, PatchOp};
    use policy_core::Settings;
    use std::collections::BTreeMap;

    let Some(dir) = corpus_dir() else { return };
    let index = std::fs::read_to_string(dir.join("cases.json")).expect("cases.json is readable");
    let cases: Vec<Case> = serde_json::from_str(&index).expect("cases.json parses");
    let mut counts: BTreeMap<String, FixCounts> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut fixed_cases = [0usize; 2];
    for case in &cases {
        let yaml = std::fs::read_to_string(dir.join(&case.path)).expect("fixture is readable");
        let pod: Value = serde_saphyr::from_str(&yaml).expect("fixture is YAML");
        let windows = pod.pointer("/spec/os/name") == Some(&json!("windows"));
        let settings = Settings::from_value(&json!({"level": case.level, "version": case.version}))
            .expect("settings are valid");
        for (round, include_review) in [false, true].into_iter().enumerate() {
            let options = FixOptions {
                include_review,
                run_as_user: None,
            };
            let fixed = match fix_object(pod.clone(), &settings, options) {
                Ok(fixed) => fixed,
                Err(error) => {
                    failures.push(format!("{}: fix failed: {error}", case.id));
                    continue;
                }
            };
            // The mutating mode admits exactly what the fixes make pass, with the fixed pod.
            let mutating = json!({"level": case.level, "version": case.version, "mutate": true,
                "fix": {"includeReview": include_review}});
            let request = validation_request(create_request(pod.clone()), &mutating);
            let answer = policy_core::fix::validate_or_mutate(
                &serde_json::to_vec(&request).expect("serializes"),
                &policy_core::cluster::NoCluster,
            );
            let mutated = fixed.verdict.allowed && !fixed.changes.is_empty();
            if answer.accepted != fixed.verdict.allowed
                || answer.mutated_object.as_ref() != mutated.then_some(&fixed.object)
            {
                failures.push(format!(
                    "{} (review {include_review}): mutating answer {answer:?}, fix said allowed={}",
                    case.id, fixed.verdict.allowed
                ));
            }
            if case.expect == "allow" {
                if !fixed.changes.is_empty() {
                    failures.push(format!("{}: an allowed pod was changed", case.id));
                }
                continue;
            }
            let allowed_classes: &[FixClass] = if include_review {
                &[FixClass::CannotFix]
            } else {
                &[FixClass::NeedsReview, FixClass::CannotFix]
            };
            for left in &fixed.remaining {
                if !allowed_classes.contains(&left.class) {
                    failures.push(format!(
                        "{} (review {include_review}): {} at {} left as {:?}: {}",
                        case.id,
                        left.check.as_str(),
                        left.field,
                        left.class,
                        left.reason
                    ));
                }
            }
            if fixed.verdict.allowed != fixed.remaining.is_empty() {
                failures.push(format!("{}: verdict and remaining disagree", case.id));
            }
            if fixed.verdict.allowed {
                fixed_cases[round] += 1;
            }
            // What is left is what a fresh check of the fixed pod says.
            let request = validation_request(
                create_request(fixed.object.clone()),
                &json!({"level": case.level, "version": case.version}),
            );
            let fresh = evaluate(&serde_json::to_vec(&request).expect("serializes"))
                .expect("the fixed pod evaluates");
            let fresh_fields: Vec<String> = fresh
                .verdict
                .violations()
                .iter()
                .map(|v| format!("{}:{}", v.check.as_str(), v.path))
                .collect();
            let left_fields: Vec<String> = fixed
                .remaining
                .iter()
                .map(|r| format!("{}:{}", r.check.as_str(), r.field))
                .collect();
            if fresh_fields != left_fields {
                failures.push(format!(
                    "{}: check of the fixed pod says {fresh_fields:?}, fix said {left_fields:?}",
                    case.id
                ));
            }
            let again = fix_object(fixed.object.clone(), &settings, options).expect("fixes again");
            if !again.changes.is_empty() {
                failures.push(format!(
                    "{}: fixing twice changed {:?}",
                    case.id, again.changes
                ));
            }
            if windows {
                for change in &fixed.changes {
                    if change.op != PatchOp::Remove
                        && change.path() != "/spec/securityContext/runAsNonRoot"
                        && change.value != Some(json!({"runAsNonRoot": true}))
                    {
                        failures.push(format!(
                            "{}: a Linux field on a Windows pod: {}",
                            case.id,
                            change.describe()
                        ));
                    }
                }
            }
            for check in &case.failing_checks {
                let row = counts.entry(check.clone()).or_default();
                let still = fixed.remaining.iter().any(|r| r.check.as_str() == check);
                if include_review {
                    row.after_review += usize::from(still);
                } else {
                    row.failing += 1;
                    row.after_safe += usize::from(still);
                }
            }
        }
    }
    let denied = cases.iter().filter(|c| c.expect == "deny").count();
    println!("| check | denied cases failing it | still failing after safe fixes | after safe + needs-review fixes (cannot be fixed) |");
    println!("| --- | ---: | ---: | ---: |");
    for (check, row) in &counts {
        println!(
            "| `{check}` | {} | {} | {} |",
            row.failing, row.after_safe, row.after_review
        );
    }
    println!(
        "denied cases: {denied}; allowed after safe fixes: {}; after safe + needs-review fixes: {}",
        fixed_cases[0], fixed_cases[1]
    );
    for failure in failures.iter().take(40) {
        eprintln!("{failure}");
    }
    assert!(failures.is_empty(), "{} fix failures", failures.len());
}
