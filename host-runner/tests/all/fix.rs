//! `podsec fix` as a user runs it: fixed manifests, patches, files written back, exit codes.

use crate::cases::repo_root;
use crate::cli::{json, podsec, podsec_stdin};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A fresh copy of `fixtures/manifests` in a folder of its own.
fn manifests_copy(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("podsec-fix-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for entry in std::fs::read_dir(repo_root().join("fixtures/manifests")).expect("fixtures") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
    }
    dir
}

fn read_all(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let path = e.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("text");
            (path, text)
        })
        .collect();
    files.sort();
    files
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Fix the samples in place with every fix allowed, then check them: what `check` still
/// reports is exactly what `fix` said cannot be fixed, and a second fix changes nothing.
#[test]
fn fixed_in_place_then_checked_only_cannot_fix_is_left() {
    let dir = manifests_copy("in-place");
    let dir_arg = dir.to_str().expect("utf-8");
    let args = [
        "--level",
        "restricted",
        "--include-review",
        "--run-as-user",
        "10001",
    ];
    let patches = podsec(&[&["fix", "--format", "patch"][..], &args, &[dir_arg]].concat());
    assert_eq!(
        patches.status.code(),
        Some(1),
        "the DaemonSet cannot be fixed: {}",
        stderr(&patches)
    );
    let patches = json(&patches);
    let mut left: Vec<String> = Vec::new();
    for entry in patches.as_array().expect("a list") {
        for remaining in entry["remaining"].as_array().expect("remaining") {
            assert_eq!(remaining["class"], "cannot-fix", "{remaining}");
            left.push(format!(
                "{} {}",
                remaining["check"].as_str().unwrap_or(""),
                remaining["field"].as_str().unwrap_or("")
            ));
        }
    }
    assert!(!left.is_empty());
    let before = read_all(&dir);
    let fixed = podsec(&[&["fix", "--in-place"][..], &args, &[dir_arg]].concat());
    assert_eq!(fixed.status.code(), Some(1), "{}", stderr(&fixed));
    assert!(fixed.stdout.is_empty(), "--in-place prints no manifests");
    assert!(
        stderr(&fixed).contains("FIXED  CronJob shop/report"),
        "{}",
        stderr(&fixed)
    );
    let after = read_all(&dir);
    assert_ne!(before, after, "files were written back");
    // The JSON file is still JSON, the AdmissionReview (a request, not a manifest) is kept.
    let pods: Value = serde_json::from_str(
        &after
            .iter()
            .find(|(p, _)| p.ends_with("pods.json"))
            .expect("pods.json")
            .1,
    )
    .expect("pods.json is still JSON");
    assert_eq!(
        pods["items"][0]["spec"]["securityContext"]["runAsNonRoot"],
        true
    );
    let review_before = &before
        .iter()
        .find(|(p, _)| p.ends_with("admission-review.json"))
        .expect("review")
        .1;
    let review_after = &after
        .iter()
        .find(|(p, _)| p.ends_with("admission-review.json"))
        .expect("review")
        .1;
    assert_eq!(review_before, review_after);

    let check = podsec(&[
        "check",
        "--level",
        "restricted",
        "--format",
        "json",
        dir_arg,
    ]);
    let report = json(&check);
    let mut failing: Vec<String> = Vec::new();
    for result in report["results"].as_array().expect("results") {
        if result["source"]
            .as_str()
            .is_some_and(|s| s.ends_with("admission-review.json"))
        {
            continue;
        }
        for violation in result["violations"].as_array().into_iter().flatten() {
            failing.push(format!(
                "{} {}",
                violation["check"].as_str().unwrap_or(""),
                violation["path"].as_str().unwrap_or("")
            ));
        }
    }
    left.sort();
    failing.sort();
    assert_eq!(
        failing, left,
        "check after fix reports exactly what fix left"
    );

    let again = podsec(&[&["fix", "--in-place"][..], &args, &[dir_arg]].concat());
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(read_all(&dir), after, "fixing twice changes nothing");
    assert!(stderr(&again).contains("0 fixed"), "{}", stderr(&again));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Manifests on standard input: a document nothing changes in keeps every byte (its
/// comments too); the fixed one passes; exit 0 when everything passes.
#[test]
fn fixed_manifests_keep_untouched_documents_to_the_byte() {
    let input = "# the app's config\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}   # kept\ndata: {a: \"1\"}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/app: unconfined\nspec:\n  containers:\n  - name: app\n    image: nginx\n    securityContext:\n      seccompProfile: {type: Unconfined, localhostProfile: x}\n";
    let output = podsec_stdin(&["fix", "-"], input);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout.clone()).expect("utf-8");
    assert!(text.starts_with("# the app's config\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}   # kept\ndata: {a: \"1\"}\n---\n"), "{text}");
    assert!(
        text.contains("container.apparmor.security.beta.kubernetes.io/app: runtime/default"),
        "{text}"
    );
    let pod: Value =
        serde_saphyr::from_str(text.split("---\n").nth(1).expect("second document")).expect("YAML");
    assert_eq!(
        pod["spec"]["containers"][0]["securityContext"]["seccompProfile"],
        json!({"type": "RuntimeDefault"})
    );
    let check = podsec_stdin(&["check", "-"], &text);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(stderr(&output).contains("FIXED  Pod default/web"));
    assert!(stderr(&output).contains("safe          appArmorProfile"));
}

/// `--format patch`: each object's operations, applied with the `json-patch` crate to the
/// object as read, give the object `podsec fix` prints; every operation names its check
/// and class.
#[test]
fn patches_apply_to_the_objects_they_fix() {
    let path = "fixtures/manifests/web-app.yaml";
    let patches = json(&podsec(&[
        "fix",
        "--level",
        "restricted",
        "--include-review",
        "--format",
        "patch",
        path,
    ]));
    let fixed_text = String::from_utf8(
        podsec(&["fix", "--level", "restricted", "--include-review", path]).stdout,
    )
    .expect("utf-8");
    let original_text = std::fs::read_to_string(repo_root().join(path)).expect("fixture");
    let originals: Vec<Value> = original_text
        .split("\n---\n")
        .map(|d| serde_saphyr::from_str(d).expect("YAML"))
        .collect();
    let fixed: Vec<Value> = fixed_text
        .split("\n---\n")
        .map(|d| serde_saphyr::from_str(d).expect("YAML"))
        .collect();
    let entries = patches.as_array().expect("a list");
    assert!(!entries.is_empty());
    for entry in entries {
        let document = entry["document"].as_u64().expect("document") as usize;
        for op in entry["patch"].as_array().expect("patch") {
            assert!(
                ["safe", "needs-review"].contains(&op["class"].as_str().unwrap_or("")),
                "{op}"
            );
            assert!(op["check"].is_string() && op["field"].is_string(), "{op}");
        }
        let patch: json_patch::Patch =
            serde_json::from_value(entry["patch"].clone()).expect("RFC 6902");
        let mut object = originals[document].clone();
        json_patch::patch(&mut object, &patch).expect("applies");
        assert_eq!(object, fixed[document], "{}", entry["object"]);
    }
}

#[test]
fn exit_codes_and_bad_input() {
    // Everything fixable at baseline: exit 0.
    let fixable = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: i, securityContext: {procMount: Unmasked}}\n";
    assert_eq!(podsec_stdin(&["fix", "-"], fixable).status.code(), Some(0));
    // Something left: exit 1, the reason on standard error.
    let privileged = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: i, securityContext: {privileged: true}}\n";
    let left = podsec_stdin(&["fix", "-"], privileged);
    assert_eq!(left.status.code(), Some(1));
    assert!(
        stderr(&left).contains("cannot-fix    privileged"),
        "{}",
        stderr(&left)
    );
    assert_eq!(
        String::from_utf8_lossy(&left.stdout),
        privileged,
        "nothing changed, nothing rewritten"
    );
    // A document that is not YAML: exit 2, the document kept, the others still fixed.
    let broken = format!("kind: Pod\nmetadata: {{name: [\n---\n{fixable}");
    let bad = podsec_stdin(&["fix", "-"], &broken);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("-:1: invalid YAML"),
        "{}",
        stderr(&bad)
    );
    assert!(String::from_utf8_lossy(&bad.stdout).contains("procMount: Default"));
    // Bad settings, no objects, --in-place on standard input, a root user id: exit 2.
    let settings = podsec_stdin(
        &[
            "fix",
            "--settings-json",
            "{\"fix\": {\"runAsUser\": 0}}",
            "-",
        ],
        fixable,
    );
    assert_eq!(settings.status.code(), Some(2));
    assert!(
        stderr(&settings).contains("fix.runAsUser must be a user id"),
        "{}",
        stderr(&settings)
    );
    let empty = podsec_stdin(&["fix", "-"], "# nothing\n");
    assert_eq!(empty.status.code(), Some(2));
    assert!(stderr(&empty).contains("no Kubernetes objects"));
    let in_place = podsec_stdin(&["fix", "--in-place", "-"], fixable);
    assert_eq!(in_place.status.code(), Some(2));
    assert!(stderr(&in_place).contains("standard input has none"));
    assert_eq!(
        podsec_stdin(&["fix", "--run-as-user", "0", "-"], fixable)
            .status
            .code(),
        Some(2)
    );
    let labels = podsec_stdin(
        &["fix", "--settings-json", "{\"namespaceLabels\": true}", "-"],
        fixable,
    );
    assert_eq!(labels.status.code(), Some(2));
    assert!(stderr(&labels).contains("podsec fix works at one level"));
}

/// A Windows pod gets `runAsNonRoot` and nothing Linux-only, even at a version that asks
/// Windows pods for the Linux fields; those are reported as cannot be fixed.
#[test]
fn windows_pods_get_no_linux_fields() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: win}\nspec:\n  os: {name: windows}\n  containers:\n  - {name: iis, image: iis}\n";
    let output = podsec_stdin(
        &[
            "fix",
            "--level",
            "restricted",
            "--version",
            "v1.24",
            "--include-review",
            "--format",
            "patch",
            "-",
        ],
        pod,
    );
    assert_eq!(output.status.code(), Some(1));
    let entries = json(&output);
    let entry = &entries[0];
    assert_eq!(
        entry["patch"],
        json!([{"op": "add", "path": "/spec/securityContext", "value": {"runAsNonRoot": true}, "check": "runAsNonRoot", "class": "needs-review", "field": "spec.containers[0].securityContext.runAsNonRoot"}])
    );
    for remaining in entry["remaining"].as_array().expect("remaining") {
        assert_eq!(remaining["class"], "cannot-fix");
        assert!(
            remaining["reason"]
                .as_str()
                .unwrap_or("")
                .contains("Windows pod"),
            "{remaining}"
        );
    }
}

#[test]
fn help_has_examples() {
    let help = podsec(&["fix", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains(
            "Examples:\n  podsec fix --level restricted deploy.yaml > deploy.fixed.yaml\n"
        ),
        "{text}"
    );
    assert!(text.contains("--include-review"));
}

/// The mutating examples in deploy/ carry settings the module accepts, with `mutate` on.
#[test]
fn deploy_examples_of_the_mutating_mode_have_valid_settings() {
    let kustomization: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/mutating/kustomization.yaml"))
            .expect("kustomization"),
    )
    .expect("YAML");
    let patch: Value = serde_saphyr::from_str(
        kustomization["patches"][0]["patch"]
            .as_str()
            .expect("patch"),
    )
    .expect("YAML");
    let settings: Value =
        serde_saphyr::from_str(patch[0]["value"].as_str().expect("settings")).expect("YAML");
    let policy: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/kubewarden/mutating.yaml"))
            .expect("policy"),
    )
    .expect("YAML");
    for settings in [settings, policy["spec"]["settings"].clone()] {
        let parsed = policy_core::Settings::from_value(&settings).expect("valid settings");
        assert!(parsed.mutate, "{settings}");
    }
    assert_eq!(policy["spec"]["mutating"], true);
    let webhook: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/mutating/mutating-webhook.yaml"))
            .expect("webhook"),
    )
    .expect("YAML");
    assert_eq!(webhook["kind"], "MutatingWebhookConfiguration");
    assert_eq!(
        webhook["webhooks"][0]["clientConfig"]["service"]["path"],
        "/mutate"
    );
}
