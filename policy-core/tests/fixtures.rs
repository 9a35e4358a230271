//! podsec's own fixtures (`fixtures/**/*.yaml`): each file holds an object or a request,
//! the settings, and the verdict expected, side by side. They cover what the PSA corpus
//! does not: workloads, updates, subresources, every setting, and bad input.

use policy_core::cluster::Snapshot;
use policy_core::fix::{fix_object, validate_or_mutate, FixClass, FixOptions, PatchOp};
use policy_core::manifest::{documents, request_for, validation_request};
use policy_core::{evaluate_with, validate_with, Settings};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[path = "support/fixture_files.rs"]
mod support;
use support::fixture_files;

/// One fixture file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    /// What the case shows.
    description: String,
    /// Settings (default: none).
    #[serde(default)]
    settings: Value,
    /// A plain manifest, judged as a CREATE.
    #[serde(default)]
    object: Option<Value>,
    /// An AdmissionRequest, used as is.
    #[serde(default)]
    request: Option<Value>,
    /// Raw bytes sent as the ValidationRequest (for malformed input).
    #[serde(default)]
    raw: Option<String>,
    /// The cluster the host answers from: Namespace and Pod objects.
    #[serde(default)]
    cluster: Vec<Value>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    allowed: Option<bool>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    checks: Option<Vec<String>>,
    #[serde(default)]
    paths: Option<Vec<String>>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
    /// A substring of the reason the checks were skipped.
    #[serde(default)]
    skipped: Option<String>,
    /// A substring of the error for input that cannot be evaluated.
    #[serde(default)]
    error: Option<String>,
    /// The response's audit annotations, exactly (when given).
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    /// The response's status code.
    #[serde(default)]
    code: Option<u16>,
    /// The namespace policy the verdict names.
    #[serde(default)]
    policy: Option<String>,
    /// In the mutating mode (`mutate: true`): the object the module admits instead (absent:
    /// the mutating `validate` answers exactly as the validating one).
    #[serde(default)]
    mutated: Option<Value>,
}

fn request_bytes(fixture: &Fixture) -> Vec<u8> {
    if let Some(raw) = &fixture.raw {
        return raw.clone().into_bytes();
    }
    let request = if let Some(object) = &fixture.object {
        let mut docs = documents(object.clone());
        assert_eq!(docs.len(), 1, "a fixture object is one document");
        request_for(docs.remove(0), &fixture.settings)
    } else {
        let request = fixture.request.clone().expect("object, request or raw");
        validation_request(request, &fixture.settings)
    };
    serde_json::to_vec(&request).expect("serializes")
}

fn check_fixture(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let fixture: Fixture =
        serde_saphyr::from_str(&text).map_err(|e| format!("not a fixture: {e}"))?;
    assert!(!fixture.description.is_empty());
    let bytes = request_bytes(&fixture);
    let expect = &fixture.expect;
    let mut cluster = Snapshot::new();
    for object in &fixture.cluster {
        assert!(
            cluster.add(object),
            "a cluster object is a v1 Namespace or Pod"
        );
    }
    let evaluate = |bytes: &[u8]| evaluate_with(bytes, &cluster);
    let validate = |bytes: &[u8]| validate_with(bytes, &cluster);
    let mutating = validate_or_mutate(&bytes, &cluster);
    match &expect.mutated {
        Some(want) if !mutating.accepted || mutating.mutated_object.as_ref() != Some(want) => {
            return Err(format!("mutated\n  got  {mutating:?}\n  want {want:?}"));
        }
        Some(_) => {}
        None if mutating != validate(&bytes) => {
            return Err(format!(
                "the mutating validate changed the answer: {mutating:?}"
            ));
        }
        None => {}
    }
    let evaluation = match evaluate(&bytes) {
        Err(error) => {
            let Some(want) = &expect.error else {
                return Err(format!("unexpected error: {error}"));
            };
            if !error.to_string().contains(want.as_str()) {
                return Err(format!("error {error:?} does not contain {want:?}"));
            }
            let response = validate(&bytes);
            if response.accepted || response.code != Some(400) {
                return Err(format!("validate() should reject with 400: {response:?}"));
            }
            return Ok(());
        }
        Ok(evaluation) => evaluation,
    };
    let verdict = &evaluation.verdict;
    if let Some(want) = &expect.error {
        return Err(format!(
            "expected an error containing {want:?}, got {verdict:?}"
        ));
    }
    if let Some(allowed) = expect.allowed {
        if verdict.allowed != allowed || evaluation.response.accepted != allowed {
            return Err(format!("expected allowed={allowed}, got {verdict:?}"));
        }
    }
    if let Some(message) = &expect.message {
        if verdict.message.as_ref() != Some(message)
            || evaluation.response.message.as_ref() != Some(message)
        {
            return Err(format!(
                "message\n  got  {:?}\n  want {message:?}",
                verdict.message
            ));
        }
    }
    let checks: Vec<&str> = verdict.findings.iter().map(|f| f.check.as_str()).collect();
    match &expect.checks {
        Some(want) if checks != *want => return Err(format!("checks {checks:?}, want {want:?}")),
        None if !checks.is_empty() => return Err(format!("unexpected failing checks {checks:?}")),
        _ => {}
    }
    if let Some(want) = &expect.paths {
        let violations = verdict.violations();
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        if paths != *want {
            return Err(format!("paths {paths:?}, want {want:?}"));
        }
    }
    let warnings = evaluation.response.warnings.clone().unwrap_or_default();
    if warnings != expect.warnings.clone().unwrap_or_default() {
        return Err(format!("warnings {warnings:?}, want {:?}", expect.warnings));
    }
    if let Some(code) = expect.code {
        if evaluation.response.code != Some(code) {
            return Err(format!("code {:?}, want {code}", evaluation.response.code));
        }
    }
    if expect.policy.is_some() && verdict.policy != expect.policy {
        return Err(format!(
            "policy {:?}, want {:?}",
            verdict.policy, expect.policy
        ));
    }
    if let Some(want) = &expect.annotations {
        let got = evaluation
            .response
            .audit_annotations
            .clone()
            .unwrap_or_default();
        if got != *want {
            return Err(format!("annotations\n  got  {got:?}\n  want {want:?}"));
        }
    } else if !warnings.is_empty() {
        let annotations = evaluation
            .response
            .audit_annotations
            .clone()
            .unwrap_or_default();
        if annotations.values().next() != warnings.first() {
            return Err(format!(
                "audit annotation {annotations:?} should carry the warning"
            ));
        }
    }
    match (&expect.skipped, &verdict.skipped) {
        (Some(want), Some(got)) if !got.contains(want.as_str()) => {
            return Err(format!("skipped because {got:?}, want {want:?}"))
        }
        (Some(want), None) => {
            return Err(format!("expected a skip ({want:?}), but the checks ran"))
        }
        (None, Some(got)) => return Err(format!("unexpectedly skipped: {got}")),
        _ => {}
    }
    Ok(())
}

#[test]
fn fixtures() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let files = fixture_files(&root);
    let mut failures = Vec::new();
    for path in &files {
        if let Err(why) = check_fixture(path) {
            let name = path
                .strip_prefix(&root)
                .unwrap_or(path)
                .display()
                .to_string();
            failures.push(format!("{name}: {why}"));
        }
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    let failed = failures.len();
    println!("fixtures: {} passed, {failed} failed", files.len() - failed);
    assert!(failures.is_empty(), "{failed} fixtures failed");
    assert!(
        files.len() >= 50,
        "expected the fixture set, found {} files",
        files.len()
    );
}

/// `podsec fix` on every fixture object judged without a cluster: with the needs-review
/// fixes, what fails afterwards is classed cannot-fix; a second fix changes nothing; a
/// Windows pod gets no field but `runAsNonRoot`.
#[test]
fn fixing_the_fixtures_leaves_only_what_cannot_be_fixed() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut fixed_objects = 0;
    let mut failures = Vec::new();
    for path in fixture_files(&root) {
        let text = std::fs::read_to_string(&path).expect("readable");
        let fixture: Fixture = serde_saphyr::from_str(&text).expect("a fixture");
        let (Some(object), true) = (&fixture.object, fixture.cluster.is_empty()) else {
            continue;
        };
        let Ok(settings) = Settings::from_value(&fixture.settings) else {
            continue;
        };
        if settings.namespace_labels {
            continue;
        }
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        for object in documents(object.clone())
            .into_iter()
            .filter_map(|d| match d {
                policy_core::manifest::Document::Object(object) => Some(object),
                policy_core::manifest::Document::Request(_) => None,
            })
        {
            let options = FixOptions {
                include_review: true,
                run_as_user: Some(1000),
            };
            let fixed = match fix_object(object.clone(), &settings, options) {
                Ok(fixed) => fixed,
                Err(error) => {
                    if fixture.expect.error.is_none() {
                        failures.push(format!("{name}: {error}"));
                    }
                    continue;
                }
            };
            fixed_objects += 1;
            for left in fixed
                .remaining
                .iter()
                .filter(|r| r.class != FixClass::CannotFix)
            {
                failures.push(format!(
                    "{name}: {} at {} left: {}",
                    left.check.as_str(),
                    left.field,
                    left.reason
                ));
            }
            let again = fix_object(fixed.object.clone(), &settings, options).expect("fixes again");
            if !again.changes.is_empty() {
                failures.push(format!("{name}: a second fix changed {:?}", again.changes));
            }
            if object.pointer("/spec/os/name") == Some(&Value::from("windows")) {
                for change in &fixed.changes {
                    let non_root = change.value == Some(serde_json::json!({"runAsNonRoot": true}))
                        || change.path().ends_with("/runAsNonRoot");
                    if change.op != PatchOp::Remove && !non_root {
                        failures.push(format!(
                            "{name}: Linux field on a Windows pod: {}",
                            change.describe()
                        ));
                    }
                }
            }
        }
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    assert!(
        failures.is_empty(),
        "{} fixture fix failures",
        failures.len()
    );
    assert!(
        fixed_objects >= 40,
        "only {fixed_objects} fixture objects were fixed"
    );
}
