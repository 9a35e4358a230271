//! The `podsec` binary as a user runs it.

use crate::cases::{corpus_dir, repo_root};
use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Output, Stdio};

pub(crate) fn podsec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podsec"))
        .args(args)
        .current_dir(repo_root())
        .env(
            "PODSEC_CACHE_DIR",
            std::env::temp_dir().join("podsec-test-cache"),
        )
        .output()
        .expect("podsec runs")
}

pub(crate) fn podsec_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_podsec"))
        .args(args)
        .current_dir(repo_root())
        .env("PODSEC_CACHE_DIR", crate::cases::test_cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podsec runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("podsec ends")
}

pub(crate) fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn check_sample_manifests_as_json() {
    let output = podsec(&["check", "--format", "json", "fixtures/manifests"]);
    assert_eq!(output.status.code(), Some(1), "a denial exits 1");
    let report = json(&output);
    assert_eq!(
        report["summary"],
        serde_json::json!({"objects": 7, "allowed": 2, "denied": 4, "skipped": 1, "errors": 0})
    );
    // The overview counts what the results say.
    let overview = &report["overview"];
    let host_namespaces = overview["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "hostNamespaces")
        .expect("hostNamespaces row");
    assert_eq!(host_namespaces["level"], "baseline");
    assert_eq!(
        host_namespaces["namespaces"],
        serde_json::json!(["default", "monitoring"])
    );
    let shop = overview["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .find(|n| n["namespace"] == "shop")
        .expect("shop row");
    assert_eq!(
        (&shop["allowed"], &shop["denied"], &shop["skipped"]),
        (
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(1)
        )
    );
    let daemonset = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["kind"] == "DaemonSet")
        .expect("the DaemonSet");
    assert_eq!(daemonset["source"], "fixtures/manifests/node-agent.yaml");
    assert_eq!(daemonset["namespace"], "monitoring");
    assert_eq!(daemonset["allowed"], false);
    assert!(daemonset["message"].as_str().expect("message").starts_with("DaemonSet \"node-agent\": violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true, hostPID=true)"));
    let first = &daemonset["violations"][0];
    assert_eq!(first["check"], "hostNamespaces");
    assert_eq!(first["path"], "spec.template.spec.hostNetwork");
    assert_eq!(first["value"], true);
}

#[test]
fn check_human_output_and_exit_codes() {
    let output = podsec(&["check", "fixtures/manifests/web-app.yaml"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1));
    assert!(text.contains("ALLOWED  Deployment shop/web"), "{text}");
    assert!(text.contains("DENIED   CronJob shop/report"), "{text}");
    assert!(text.contains("spec.jobTemplate.spec.template.spec.containers[0].securityContext.capabilities.add[0] = \"SYS_ADMIN\""), "{text}");
    assert!(
        text.contains("summary: 3 objects: 1 allowed, 1 denied, 1 skipped, 0 errors"),
        "{text}"
    );
    assert!(
        !text.contains("Service"),
        "skipped objects are hidden: {text}"
    );
    assert!(
        text.contains("checks failed\n  capabilities_baseline"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour off a terminal: {text}");

    let shown = podsec(&["check", "--show-skipped", "fixtures/manifests/web-app.yaml"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("SKIPPED  Service shop/web  (fixtures/manifests/web-app.yaml#1): core/Service is not a kind podsec evaluates"),
        "{text}"
    );
    let quiet = podsec(&["check", "--quiet", "fixtures/manifests/web-app.yaml"]);
    let text = String::from_utf8_lossy(&quiet.stdout);
    assert!(
        !text.contains("ALLOWED") && text.contains("DENIED   CronJob shop/report"),
        "{text}"
    );
    let summary = podsec(&["check", "--summary", "fixtures/manifests/web-app.yaml"]);
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(
        !text.contains("DENIED   CronJob") && text.contains("capabilities_baseline"),
        "{text}"
    );
    let coloured = podsec(&[
        "check",
        "--color",
        "always",
        "fixtures/manifests/web-app.yaml",
    ]);
    assert!(String::from_utf8_lossy(&coloured.stdout).contains("\x1b[31mDENIED"));

    let allowed = podsec(&[
        "check",
        "--settings-json",
        r#"{"level": "privileged"}"#,
        "fixtures/manifests",
    ]);
    assert_eq!(allowed.status.code(), Some(0));
}

#[test]
fn check_reads_stdin_and_reports_bad_documents_with_positions() {
    let input = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostIPC: true\n  containers: [{name: c, image: i}]\n---\nkind: Pod\nmetadata: [unclosed\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers: [{name: c, image: i}]\n";
    let output = podsec_stdin(&["check", "--format", "json", "-"], input);
    assert_eq!(output.status.code(), Some(2), "a bad document exits 2");
    let report = json(&output);
    assert_eq!(
        report["summary"],
        serde_json::json!({"objects": 3, "allowed": 1, "denied": 1, "skipped": 0, "errors": 1})
    );
    let error = report["results"][1]["error"].as_str().expect("error");
    assert!(
        error.starts_with("-:9:") || error.starts_with("-:10:"),
        "{error}"
    );
    assert_eq!(report["results"][2]["name"], "b");
}

#[test]
fn check_reports_invalid_objects() {
    let input = "apiVersion: v1\nkind: Pod\nmetadata: {name: typo}\nspec:\n  containers:\n    - name: c\n      securityContext: {privileged: \"yes\"}\n";
    let output = podsec_stdin(&["check", "--format", "json"], input);
    assert_eq!(output.status.code(), Some(2));
    let error = json(&output)["results"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains("expected a boolean"), "{error}");
}

#[test]
fn invalid_settings_exit_2_with_the_field() {
    let output = podsec(&[
        "check",
        "--settings-json",
        r#"{"level": "strict"}"#,
        "fixtures/manifests",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid settings: level \"strict\" is not a level"),
        "{stderr}"
    );
    let output = podsec(&[
        "check",
        "--settings",
        "does-not-exist.yaml",
        "fixtures/manifests",
    ]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_module_whose_init_loops_is_not_reported_as_invalid_settings() {
    let dir = std::env::temp_dir().join(format!("podsec-cli-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("looping-init.wat");
    std::fs::write(
        &path,
        r#"(module (memory (export "memory") 1)
             (func (export "wapc_init") (loop $spin (br $spin)))
             (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))"#,
    )
    .expect("write module");
    let output = podsec(&[
        "check",
        "--policy",
        path.to_str().expect("UTF-8 path"),
        "--timeout",
        "50",
        "fixtures/manifests",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("could not validate the settings: the policy's initialisation (wapc_init) ran past the deadline of 50 ms"),
        "{stderr}"
    );
    assert!(!stderr.contains("invalid settings"), "{stderr}");
}

#[test]
fn run_prints_the_validation_response() {
    let output = podsec(&[
        "run",
        "--request",
        "fixtures/manifests/admission-review.json",
    ]);
    assert_eq!(output.status.code(), Some(1), "a rejection exits 1");
    let response = json(&output);
    assert_eq!(response["accepted"], false);
    assert_eq!(response["code"], 403);
    assert_eq!(
        response["message"],
        "violates PodSecurity \"baseline:latest\": privileged (container \"docker\" must not set securityContext.privileged=true)"
    );
    let exempt = podsec(&[
        "run",
        "--request",
        "fixtures/manifests/admission-review.json",
        "--settings-json",
        r#"{"excludedUsernames": ["system:serviceaccount:ci:runner"]}"#,
    ]);
    assert_eq!(json(&exempt), serde_json::json!({"accepted": true}));
    assert_eq!(exempt.status.code(), Some(0));
    let manifest = podsec(&["run", "--request", "fixtures/manifests/node-agent.yaml"]);
    assert_eq!(manifest.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&manifest.stderr);
    assert!(
        stderr.contains("this is a Kubernetes object (DaemonSet), not an admission request: judge manifests with `podsec check FILE`"),
        "{stderr}"
    );
    let several = podsec(&["run", "--request", "fixtures/manifests/web-app.yaml"]);
    let stderr = String::from_utf8_lossy(&several.stderr);
    assert!(
        stderr.contains("several YAML documents where one was expected")
            && !stderr.contains("from_str_multiple"),
        "{stderr}"
    );
}

#[test]
fn check_over_the_psa_corpus_gives_one_result_per_file() {
    let Some(dir) = corpus_dir() else { return };
    let testdata = dir.join("testdata");
    let output = podsec(&[
        "check",
        "--format",
        "json",
        testdata.to_str().expect("utf-8 path"),
    ]);
    let report = json(&output);
    assert_eq!(report["results"].as_array().map(Vec::len), Some(4537));
    assert_eq!(report["summary"]["objects"], 4537);
    assert_eq!(report["summary"]["errors"], 0);
}

#[test]
fn deploy_manifests_pass_the_restricted_level() {
    let output = podsec(&[
        "check",
        "--format",
        "json",
        "--settings-json",
        r#"{"level": "restricted"}"#,
        "deploy",
    ]);
    let report = json(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    let deployment = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["kind"] == "Deployment" && r["name"] == "podsec")
        .expect("podsec's own Deployment is checked");
    assert_eq!(deployment["allowed"], true);
    assert!(
        deployment.get("skipped").is_none(),
        "the Deployment must really be evaluated"
    );
}

/// `podsec check` over a cluster dump in the namespace-labels mode: each object at its own
/// namespace's labels, a namespace with an invalid label refused, an unlabelled namespace
/// privileged; `--namespace-label` dry-runs a tighter level as PSA's warnings.
#[test]
fn check_judges_a_cluster_dump_at_each_namespaces_labels() {
    let settings = r#"{"namespaceLabels": true}"#;
    let output = podsec(&[
        "check",
        "--format",
        "json",
        "--settings-json",
        settings,
        "fixtures/clusters/dump.json",
    ]);
    assert_eq!(output.status.code(), Some(1), "denials exit 1");
    let report = json(&output);
    assert_eq!(
        report["summary"],
        serde_json::json!({"objects": 20, "allowed": 8, "denied": 8, "skipped": 4, "errors": 0})
    );
    let results = report["results"].as_array().expect("results");
    // The overview's numbers are the rows' numbers.
    let mut counted: std::collections::BTreeMap<String, [u64; 4]> = Default::default();
    for row in results {
        let namespace = row["namespace"].as_str().unwrap_or("").to_owned();
        let slot = match (row.get("error"), &row["allowed"], row.get("skipped")) {
            (Some(_), _, _) => 3,
            (None, Value::Bool(false), _) => 1,
            (None, _, Some(_)) => 2,
            _ => 0,
        };
        counted.entry(namespace).or_default()[slot] += 1;
    }
    let overview: std::collections::BTreeMap<String, [u64; 4]> = report["overview"]["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .map(|n| {
            let count = |key: &str| n[key].as_u64().unwrap_or(u64::MAX);
            (
                n["namespace"].as_str().unwrap_or("").to_owned(),
                [
                    count("allowed"),
                    count("denied"),
                    count("skipped"),
                    count("errors"),
                ],
            )
        })
        .collect();
    assert_eq!(overview, counted);
    let failing_privileged = results
        .iter()
        .filter(|r| {
            r["violations"]
                .as_array()
                .is_some_and(|v| v.iter().any(|v| v["check"] == "privileged"))
        })
        .count();
    let privileged_row = report["overview"]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "privileged")
        .expect("privileged row");
    assert_eq!(privileged_row["nonCompliant"], failing_privileged);
    let find = |kind: &str, namespace: Option<&str>, name: &str| {
        results
            .iter()
            .find(|r| {
                r["kind"] == kind
                    && r["name"] == name
                    && r.get("namespace").and_then(Value::as_str) == namespace
            })
            .unwrap_or_else(|| panic!("no result for {kind} {namespace:?}/{name}"))
    };
    let prod = find("Pod", Some("prod"), "plain-0");
    assert!(prod["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("violates PodSecurity \"restricted:v1.30\""));
    let staging = find("Pod", Some("staging"), "plain-0");
    assert_eq!(staging["allowed"], true);
    assert!(staging["warnings"][0]
        .as_str()
        .unwrap_or("")
        .starts_with("would violate PodSecurity \"restricted:latest\""));
    assert_eq!(
        staging["policy"],
        "enforce=baseline:latest, audit=restricted:latest, warn=restricted:latest"
    );
    assert_eq!(
        staging["annotations"]["audit-violations"], staging["warnings"][0],
        "{staging}"
    );
    assert_eq!(find("Pod", Some("legacy"), "agent-0")["allowed"], true);
    let broken = find("Namespace", None, "broken");
    assert_eq!(broken["allowed"], false);
    assert!(broken["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("Namespace \"broken\" is invalid"));

    let output = podsec(&[
        "check",
        "--settings-json",
        settings,
        "--namespace-label",
        "staging:pod-security.kubernetes.io/enforce=restricted",
        "fixtures/clusters/dump.json",
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("warning: existing pods in namespace \"staging\" violate the new PodSecurity enforce level \"restricted:latest\""),
        "{text}"
    );
    assert!(
        text.contains("warning: plain-0: allowPrivilegeEscalation != false"),
        "{text}"
    );
    // The label also applies: staging's plain pod is now denied, and its audit level's
    // violations are printed under it.
    assert!(text.contains("DENIED   Pod staging/plain-0"), "{text}");
    assert!(
        text.contains("audit audit-violations: would violate PodSecurity \"restricted:latest\""),
        "{text}"
    );

    let output = podsec(&[
        "check",
        "--namespace-label",
        "a:b=c",
        "fixtures/clusters/dump.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs the namespace-labels mode"));
}

/// Every stream kubectl reads, and input that holds no Kubernetes object.
#[test]
fn check_reads_every_stream_and_refuses_empty_input() {
    let pod = |name: &str, extra: &str| {
        format!(
            r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}"}}, "spec": {{{extra}"containers": [{{"name": "c", "image": "i"}}]}}}}"#
        )
    };
    let streams = [
        ("JSON Lines", format!("{}\n{}\n", pod("a", ""), pod("b", r#""hostPID": true, "#))),
        ("JSON between ---", format!("{}\n---\n{}\n", pod("a", ""), pod("b", r#""hostPID": true, "#))),
        ("flow-style YAML", "{apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, image: i}]}}\n---\n{apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {hostPID: true, containers: [{name: c, image: i}]}}\n".to_owned()),
        ("a JSON array", format!("[{}, {}]", pod("a", ""), pod("b", r#""hostPID": true, "#))),
    ];
    for (what, input) in streams {
        let output = podsec_stdin(&["check", "--format", "json", "-n", "shop", "-"], &input);
        let report = json(&output);
        assert_eq!(
            report["summary"],
            serde_json::json!({"objects": 2, "allowed": 1, "denied": 1, "skipped": 0, "errors": 0}),
            "{what}: {report}"
        );
        assert_eq!(report["results"][1]["namespace"], "shop", "{what}: -n");
    }
    for input in ["", "# nothing\n---\n"] {
        let output = podsec_stdin(&["check", "-"], input);
        assert_eq!(output.status.code(), Some(2), "{input:?}");
        assert!(String::from_utf8_lossy(&output.stderr)
            .contains("no Kubernetes objects in standard input"));
    }
    // Only files that are not Kubernetes objects: also nothing to judge.
    let dir = std::env::temp_dir().join(format!("podsec-cli-chart-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("templates")).expect("temp dir");
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    )
    .expect("write");
    std::fs::write(dir.join("values.yaml"), "replicaCount: 1\n").expect("write");
    std::fs::write(dir.join("templates/pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n  labels: {}\n{{- end }}\n").expect("write");
    let output = podsec(&["check", "--show-skipped", dir.to_str().expect("UTF-8")]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("a Helm chart's Chart.yaml, not a Kubernetes object"),
        "{text}"
    );
    assert!(
        text.contains("Helm values, not a Kubernetes object"),
        "{text}"
    );
    assert!(text.contains("a Go template ({{ … }}), not a manifest: render it first (helm template CHART | podsec check -)"), "{text}");
    // The file, line and column once.
    assert_eq!(text.matches("templates/pod.yaml").count(), 1, "{text}");
    assert_eq!(output.status.code(), Some(2), "the template is an error");
}

/// Kinds as the API server matches them, --strict, and the --level shorthand.
#[test]
fn check_strict_and_level_shorthands() {
    let input = "apiVersion: extensions/v1beta1\nkind: DaemonSet\nmetadata: {name: old}\n---\napiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: typo}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: c, image: i}]}\n";
    let output = podsec_stdin(&["check", "--show-skipped", "-"], input);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("extensions/v1beta1 DaemonSet is not evaluated: the API server matches a kind with its group, and podsec evaluates DaemonSet as apps/v1"), "{text}");
    assert!(text.contains("did you mean Deployment?"), "{text}");
    let strict = podsec_stdin(&["check", "--strict", "-"], input);
    assert_eq!(strict.status.code(), Some(2));
    let text = String::from_utf8_lossy(&strict.stdout);
    assert!(text.contains("ERROR    DaemonSet default/old"), "{text}");
    let restricted = podsec_stdin(
        &[
            "check",
            "--level",
            "restricted",
            "--version",
            "v1.24",
            "--format",
            "json",
            "-",
        ],
        input,
    );
    assert_eq!(restricted.status.code(), Some(1));
    let report = json(&restricted);
    assert!(
        report["results"][2]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("violates PodSecurity \"restricted:v1.24\""),
        "{report}"
    );
    for command in ["run", "serve", "bench"] {
        let help = podsec(&[command, "--help"]);
        let text = String::from_utf8_lossy(&help.stdout);
        let examples = text.split("\nExamples:\n").nth(1).unwrap_or_default();
        assert!(
            examples.lines().count() >= 3
                && examples
                    .lines()
                    .all(|l| l.is_empty() || l.starts_with(&format!("  podsec {command}"))),
            "{command}: {text}"
        );
    }
    let help = podsec(&["check", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("\n  podsec check deploy/\n  podsec check --level restricted pod.yaml\n"),
        "{text}"
    );
}

/// `podsec run` answers the module's host calls from a kwctl session file.
#[test]
fn run_replays_a_kwctl_session() {
    let request = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}}"#;
    let review = serde_json::json!({"kind": "AdmissionReview", "request": policy_core::manifest::create_request(
        serde_json::from_str(request).expect("JSON"))});
    let output = podsec_stdin(
        &[
            "run",
            "--request",
            "-",
            "--settings-json",
            r#"{"namespaceLabels": true}"#,
            "--replay-host-capabilities-interactions",
            "fixtures/sessions/shop-restricted.yml",
        ],
        &review.to_string(),
    );
    let response = json(&output);
    assert_eq!(response["accepted"], false, "{response}");
    assert!(response["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("violates PodSecurity \"restricted:latest\""));
    assert_eq!(
        response["audit_annotations"]["enforce-policy"],
        "restricted:latest"
    );
    assert!(response["audit_annotations"]["audit-violations"]
        .as_str()
        .unwrap_or("")
        .starts_with("would violate PodSecurity \"restricted:latest\""));
}

/// SARIF 2.1.0's objects as podsec writes them (test data, see its description).
fn sarif_schema() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/sarif-2.1.0-subset.schema.json"
        ))
        .expect("the SARIF schema"),
    )
    .expect("the SARIF schema is JSON")
}

/// Checks `value` against the subset of OpenAPI v3 a CRD's structural schema uses (`type`,
/// `enum`, `required`, `properties`, `additionalProperties`, `items`, and `$ref` into
/// `definitions`); a field the schema does not know is an error too (the API server would
/// drop it). Returns every mismatch, as `path: what`.
fn schema_errors(schema: &Value, root: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(name) => &root["definitions"][name],
        None => schema,
    };
    let fits = match schema.get("type").and_then(Value::as_str) {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !fits {
        out.push(format!("{path}: {value} is not of type {}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            out.push(format!("{path}: {value} is not one of {allowed:?}"));
        }
    }
    if let (Some(minimum), Some(number)) = (
        schema.get("minimum").and_then(Value::as_i64),
        value.as_i64(),
    ) {
        if number < minimum {
            out.push(format!("{path}: {number} is less than {minimum}"));
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            schema_errors(&schema["items"], root, item, &format!("{path}[{i}]"), out);
        }
    }
    if let Some(fields) = value.as_object() {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !fields.contains_key(required.as_str().unwrap_or("")) {
                out.push(format!("{path}: {required} is required"));
            }
        }
        let known = schema.get("properties").and_then(Value::as_object);
        for (key, field) in fields {
            let at = format!("{path}.{key}");
            match (
                known.and_then(|k| k.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(sub), _) | (None, Some(sub)) => schema_errors(sub, root, field, &at, out),
                (None, None) if known.is_some() => out.push(format!("{at}: not in the schema")),
                (None, None) => {}
            }
        }
    }
}

/// The report formats, checked against what their schemas require: the PolicyReport and
/// OpenReports CRDs (`result` and `severity` enums, `policy` required, `properties` a map of
/// strings, `timestamp` with `seconds` and `nanos`), SARIF 2.1.0 (`version`, `runs[].tool.driver`,
/// results naming a rule of the driver at its index, 1-based regions), JUnit's counts.
#[test]
fn check_writes_the_reports_the_ecosystem_reads() {
    let results = ["pass", "fail", "warn", "error", "skip"];
    let severities = ["critical", "high", "low", "medium", "info"];
    for (format, api_version, kinds) in [
        (
            "policy-report",
            "wgpolicyk8s.io/v1alpha2",
            ["PolicyReport", "ClusterPolicyReport"],
        ),
        (
            "openreports",
            "openreports.io/v1alpha1",
            ["Report", "ClusterReport"],
        ),
    ] {
        let output = podsec(&[
            "check",
            "--format",
            format,
            "fixtures/manifests",
            "fixtures/clusters/dump.json",
        ]);
        assert_eq!(output.status.code(), Some(1), "{format}");
        let list = json(&output);
        assert_eq!(
            (&list["apiVersion"], &list["kind"]),
            (&serde_json::json!("v1"), &serde_json::json!("List"))
        );
        let items = list["items"].as_array().expect("items");
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/openreports-v1alpha1-report.schema.json"
            ))
            .expect("schema"),
        )
        .expect("schema JSON");
        // The checker itself: a wrong enum, a number in the string map, a missing required
        // field and an unknown field are each caught.
        let bad = serde_json::json!({"results": [{"result": "maybe", "properties": {"n": 1},
            "timestamp": {"seconds": 1}, "colour": "red"}]});
        let mut errors = Vec::new();
        schema_errors(&schema, &schema, &bad, "", &mut errors);
        assert_eq!(errors.len(), 5, "{errors:#?}");
        let mut namespaces = Vec::new();
        for report in items {
            let mut errors = Vec::new();
            schema_errors(&schema, &schema, report, "", &mut errors);
            if format == "policy-report" {
                assert!(
                    report.get("source").is_none(),
                    "v1alpha2 has no top-level source"
                );
            }
            assert!(errors.is_empty(), "{format}: {errors:#?}");
            assert_eq!(report["apiVersion"], api_version, "{format}");
            let kind = report["kind"].as_str().expect("kind");
            let namespace = report["metadata"]["namespace"].as_str();
            assert_eq!(
                kind,
                if namespace.is_some() {
                    kinds[0]
                } else {
                    kinds[1]
                }
            );
            namespaces.push(namespace.unwrap_or("").to_owned());
            if format == "openreports" {
                assert_eq!(report["source"], "podsec");
            }
            let rows = report["results"].as_array().expect("results");
            let mut counted =
                serde_json::json!({"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0});
            for row in rows {
                let result = row["result"].as_str().expect("result");
                assert!(results.contains(&result), "{row}");
                counted[result] = serde_json::json!(counted[result].as_u64().unwrap_or(0) + 1);
                assert_eq!(row["policy"], "pod-security-standards");
                if let Some(severity) = row.get("severity") {
                    assert!(
                        severities.contains(&severity.as_str().unwrap_or("")),
                        "{row}"
                    );
                }
                assert!(
                    row["properties"]
                        .as_object()
                        .expect("properties")
                        .values()
                        .all(Value::is_string),
                    "{row}"
                );
                assert!(row["timestamp"]["seconds"].is_u64() && row["timestamp"]["nanos"].is_u64());
                for resource in row["resources"].as_array().into_iter().flatten() {
                    assert!(resource
                        .as_object()
                        .expect("resource")
                        .values()
                        .all(Value::is_string));
                }
            }
            assert_eq!(
                report["summary"], counted,
                "{format}: the summary counts the results"
            );
        }
        assert!(
            namespaces.contains(&"monitoring".to_owned()) && namespaces.contains(&String::new())
        );
        let monitoring = items
            .iter()
            .find(|r| r["metadata"]["namespace"] == "monitoring")
            .expect("monitoring");
        let row = monitoring["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|r| r["rule"] == "hostNamespaces")
            .expect("a hostNamespaces result");
        assert_eq!(row["result"], "fail");
        assert_eq!(row["severity"], "high");
        assert_eq!(row["properties"]["path"], "spec.template.spec.hostNetwork");
        assert_eq!(row["properties"]["value"], "true");
        // The fixed level judged at, from the settings as podsec reads them.
        assert_eq!(
            (&row["properties"]["level"], &row["properties"]["version"]),
            (&serde_json::json!("baseline"), &serde_json::json!("latest"))
        );
        assert_eq!(row["resources"][0]["kind"], "DaemonSet");
        assert_eq!(row["resources"][0]["apiVersion"], "apps/v1");
        // Objects read from a cluster keep their uid.
        let prod = items
            .iter()
            .find(|r| r["metadata"]["namespace"] == "prod")
            .expect("prod");
        assert!(
            prod["results"][0]["resources"][0]["uid"].is_string(),
            "{}",
            prod["results"][0]
        );
    }

    let output = podsec(&[
        "check",
        "--format",
        "openreports",
        "--level",
        "restricted",
        "--version",
        "v1.30",
        "fixtures/manifests",
    ]);
    let list = json(&output);
    let row = &list["items"][0]["results"][0];
    assert_eq!(
        (&row["properties"]["level"], &row["properties"]["version"]),
        (
            &serde_json::json!("restricted"),
            &serde_json::json!("v1.30")
        ),
        "{row}"
    );
    let output = podsec(&[
        "check",
        "--format",
        "policy-report",
        "--settings-json",
        r#"{"namespaceLabels": true}"#,
        "fixtures/clusters/dump.json",
    ]);
    let list = json(&output);
    let prod = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["metadata"]["namespace"] == "prod")
        .expect("prod");
    let row = &prod["results"][0];
    assert!(
        row["properties"].get("level").is_none(),
        "each namespace has its own level: {row}"
    );
    assert!(
        row["properties"]["namespacePolicy"]
            .as_str()
            .unwrap_or("")
            .starts_with("enforce=restricted:v1.30"),
        "{row}"
    );

    let output = podsec(&["check", "--format", "sarif", "fixtures/manifests"]);
    let sarif = json(&output);
    assert_eq!(sarif["version"], "2.1.0");
    let sarif_schema = sarif_schema();
    let mut errors = Vec::new();
    schema_errors(&sarif_schema, &sarif_schema, &sarif, "sarif", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "podsec");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"], "{result}");
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap_or("")));
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap_or(0) >= 1, "{result}");
    }
    let host_network = results
        .iter()
        .find(|r| {
            r["ruleId"] == "hostNamespaces"
                && r["message"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains("hostNetwork")
        })
        .expect("the hostNetwork result");
    let location = &host_network["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "fixtures/manifests/node-agent.yaml"
    );
    let line = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/manifests/node-agent.yaml"
    ))
    .expect("read")
    .lines()
    .position(|l| l.trim_start().starts_with("hostNetwork:"))
    .expect("hostNetwork line")
        + 1;
    assert_eq!(location["region"]["startLine"], line);

    let output = podsec(&["check", "--format", "junit", "fixtures/manifests"]);
    let xml = String::from_utf8_lossy(&output.stdout);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"podsec\" tests=\"7\" failures=\"4\" errors=\"0\" skipped=\"1\">"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 7);
    assert_eq!(xml.matches("<failure ").count(), 4);
    assert_eq!(
        xml.matches("<testsuite ").count(),
        xml.matches("</testsuite>").count()
    );
    assert!(xml.contains("message=\"DaemonSet &quot;node-agent&quot;: violates PodSecurity &quot;baseline:latest&quot;"), "{xml}");
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("podsec-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Each object's failing (or, with `exempted`, exempted) fields as `file#doc item: check
/// path=value`, sorted.
fn fields_of(report: &Value, key: &str) -> Vec<String> {
    fields_where(report, key, |_| true)
}

/// [`fields_of`], only the fields `keep` accepts.
fn fields_where(report: &Value, key: &str, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for row in report["results"].as_array().expect("results") {
        for v in row[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| keep(v))
        {
            out.push(format!(
                "{}#{} {}: {} {}={}",
                row["source"].as_str().unwrap_or(""),
                row["document"],
                row["item"].as_str().unwrap_or(""),
                v["check"].as_str().unwrap_or(""),
                v["path"].as_str().unwrap_or(""),
                v["value"]
            ));
        }
    }
    out.sort();
    out
}

/// `--generate-exemptions` then `check` with those settings passes; taking any one entry
/// out brings back exactly the fields it exempted; a value or check the entries do not name
/// still fails.
fn exemptions_round_trip(paths: &[&str], level: &str, sample: usize) {
    let dir = scratch(&format!("exemptions-{level}-{}", paths.len()));
    let mut args = vec!["check", "--level", level, "--format", "json"];
    args.extend_from_slice(paths);
    let before = podsec(&args);
    assert_eq!(
        before.status.code(),
        Some(1),
        "the input must fail to start with"
    );
    let failing = fields_of(&json(&before), "violations");

    let mut generate = vec!["check", "--level", level, "--generate-exemptions"];
    generate.extend_from_slice(paths);
    let generated = podsec(&generate);
    assert_eq!(
        generated.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let settings = json(&generated);
    assert_eq!(settings["level"], serde_json::json!(level));
    let entries = settings["exemptions"]
        .as_array()
        .expect("exemptions")
        .clone();
    assert!(!entries.is_empty());
    let file = dir.join(format!(
        "settings-{}.json",
        paths.join("-").replace('/', "_")
    ));
    std::fs::write(&file, settings.to_string()).unwrap();
    let file_arg = file.to_str().unwrap();

    let mut with = vec!["check", "--settings", file_arg, "--format", "json"];
    with.extend_from_slice(paths);
    let after = podsec(&with);
    let report = json(&after);
    assert_eq!(after.status.code(), Some(0), "{}", report["summary"]);
    assert!(fields_of(&report, "violations").is_empty());
    // Nothing is dropped: what failed is now reported as exempted, field for field.
    assert_eq!(fields_of(&report, "exempted"), failing);

    // Without one entry, exactly the fields it exempted fail again.
    let step = (entries.len() / sample.max(1)).max(1);
    for index in (0..entries.len()).step_by(step) {
        let mut fewer = settings.clone();
        fewer["exemptions"].as_array_mut().unwrap().remove(index);
        std::fs::write(&file, fewer.to_string()).unwrap();
        let again = json(&podsec(&with));
        // The fields entry `index` exempted, from the run with every entry.
        let exempted_by_it = fields_where(&report, "exempted", |v| {
            v["exemption"] == serde_json::json!(index)
        });
        assert!(!exempted_by_it.is_empty(), "entry {index} exempts nothing");
        assert_eq!(
            fields_of(&again, "violations"),
            exempted_by_it,
            "entry {index}: {}",
            entries[index]
        );
    }
}

#[test]
fn generated_exemptions_round_trip_on_the_sample_manifests() {
    exemptions_round_trip(&["fixtures/manifests"], "restricted", 100);
}

#[test]
fn generated_exemptions_round_trip_on_a_cluster_dump() {
    let dir = scratch("exemptions-dump");
    let dump = dir.join("dump.json");
    std::fs::write(&dump, podsec::benchdata::cluster_dump(400).to_string()).unwrap();
    exemptions_round_trip(&[dump.to_str().unwrap()], "baseline", 12);
    exemptions_round_trip(&[dump.to_str().unwrap()], "restricted", 6);
}

#[test]
fn exemptions_keep_other_values_and_checks_failing() {
    // A sidecar exempted for NET_ADMIN: SYS_ADMIN on it, and the app's own NET_ADMIN, fail.
    let manifest = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "mesh"},
      "spec": {"containers": [
        {"name": "app", "image": "example.com/web:1", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}},
        {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0",
         "securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN"]}}}]}}"#;
    let settings = r#"{"exemptions": [{"checks": ["capabilities_baseline"], "images": ["*/istio/proxyv2*"], "values": ["NET_ADMIN"]}]}"#;
    let output = podsec_stdin(
        &[
            "check",
            "-",
            "--settings-json",
            settings,
            "--format",
            "json",
        ],
        manifest,
    );
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    let failing = fields_of(&report, "violations");
    assert_eq!(failing.len(), 2, "{failing:?}");
    assert!(failing[0]
        .ends_with("spec.containers[0].securityContext.capabilities.add[0]=\"NET_ADMIN\""));
    assert!(failing[1]
        .ends_with("spec.containers[1].securityContext.capabilities.add[1]=\"SYS_ADMIN\""));
    let exempted = fields_of(&report, "exempted");
    assert_eq!(exempted.len(), 1);
    assert!(exempted[0]
        .ends_with("spec.containers[1].securityContext.capabilities.add[0]=\"NET_ADMIN\""));
    assert_eq!(
        report["overview"]["checks"][0]["exempted"],
        serde_json::json!(1)
    );

    // Human output says what was exempted, and by which entry.
    let human = podsec_stdin(
        &[
            "check",
            "-",
            "--settings-json",
            settings,
            "--color",
            "never",
        ],
        manifest,
    );
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("spec.containers[1].securityContext.capabilities.add[0] = \"NET_ADMIN\"  exempt: exemptions[0]"),
        "{text}"
    );

    // Reports: the exempted field is a skip result (PolicyReport) and a suppressed one (SARIF).
    let reports = json(&podsec_stdin(
        &[
            "check",
            "-",
            "--settings-json",
            settings,
            "--format",
            "policy-report",
        ],
        manifest,
    ));
    let rows = reports["items"][0]["results"].as_array().unwrap();
    let skipped: Vec<&Value> = rows.iter().filter(|r| r["result"] == "skip").collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["properties"]["exemption"], "exemptions[0]");
    assert!(skipped[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("exempted by exemptions[0]: "));
    let sarif = json(&podsec_stdin(
        &[
            "check",
            "-",
            "--settings-json",
            settings,
            "--format",
            "sarif",
        ],
        manifest,
    ));
    let suppressed: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "external");
    let schema = sarif_schema();
    let mut errors = Vec::new();
    schema_errors(&schema, &schema, &sarif, "sarif", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema catches what a SARIF reader would refuse.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    broken["runs"][0]["results"][0]["suppressions"] = serde_json::json!([{"status": "accepted"}]);
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        serde_json::json!(0);
    broken["runs"][0]["tool"]["driver"]["rulez"] = serde_json::json!([]);
    let mut errors = Vec::new();
    schema_errors(&schema, &schema, &broken, "sarif", &mut errors);
    assert_eq!(errors.len(), 4, "{errors:#?}");

    // PSA's exemptions object cannot take generated entries.
    let psa = podsec_stdin(
        &[
            "check",
            "-",
            "--settings-json",
            r#"{"exemptions": {"namespaces": ["kube-system"]}}"#,
            "--generate-exemptions",
        ],
        manifest,
    );
    assert_eq!(psa.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&psa.stderr).contains("PSA's exemptions object"));
}

#[test]
fn the_azure_preset_overview_has_its_controls() {
    let output = podsec(&[
        "check",
        "--settings-json",
        r#"{"preset": "azure-baseline"}"#,
        "--format",
        "json",
        "fixtures/manifests",
        "fixtures/clusters/dump.json",
    ]);
    let report = json(&output);
    let controls = report["overview"]["controls"].as_array().expect("controls");
    assert_eq!(controls.len(), 5);
    let rows = report["results"].as_array().unwrap();
    let evaluated = rows
        .iter()
        .filter(|r| r["allowed"].is_boolean() && r["skipped"].is_null() && r["error"].is_null())
        .count();
    // Each control's counts are the rows': the objects failing its checks (for host
    // namespaces, its fields), and the other evaluated objects.
    for (control, matches) in [
        (
            "Kubernetes cluster should not allow privileged containers",
            &(|c: &str, _: &str| c == "privileged") as &dyn Fn(&str, &str) -> bool,
        ),
        (
            "Kubernetes cluster pods should only use approved host network and port range",
            &|c: &str, p: &str| {
                c == "hostPorts" || (c == "hostNamespaces" && p.ends_with(".hostNetwork"))
            },
        ),
        (
            "Kubernetes cluster containers should not share host process ID or host IPC namespace",
            &|c: &str, p: &str| c == "hostNamespaces" && !p.ends_with(".hostNetwork"),
        ),
    ] {
        let failing = rows
            .iter()
            .filter(|r| {
                r["violations"].as_array().into_iter().flatten().any(|v| {
                    matches(
                        v["check"].as_str().unwrap_or(""),
                        v["path"].as_str().unwrap_or(""),
                    )
                })
            })
            .count();
        let row = controls
            .iter()
            .find(|r| r["control"] == control)
            .expect(control);
        assert_eq!(row["nonCompliant"], serde_json::json!(failing), "{control}");
        assert_eq!(
            row["compliant"],
            serde_json::json!(evaluated - failing),
            "{control}"
        );
        assert!(failing > 0, "{control}: the fixtures fail it");
    }
    let human = podsec(&[
        "check",
        "--settings-json",
        r#"{"preset": "azure-baseline"}"#,
        "--summary",
        "--color",
        "never",
        "fixtures/manifests",
    ]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("controls (preset azure-baseline)"));
    // Without a preset there are none.
    let plain = json(&podsec(&[
        "check",
        "--format",
        "json",
        "fixtures/manifests",
    ]));
    assert!(plain["overview"].get("controls").is_none());
}
