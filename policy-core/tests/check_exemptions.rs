//! `exemptions` as a list: exemptions scoped to checks, images, containers, namespaces and
//! values.

use policy_core::exemptions::glob_matches;
use policy_core::{evaluate, Evaluation, Settings};
use serde_json::{json, Value};

fn request(namespace: &str, spec: Value, settings: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "request": {"uid": "1", "operation": "CREATE", "namespace": namespace,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "object": {"metadata": {"name": "p"}, "spec": spec}},
        "settings": settings,
    }))
    .unwrap()
}

fn run(namespace: &str, spec: Value, settings: Value) -> Evaluation {
    evaluate(&request(namespace, spec, settings)).unwrap()
}

fn sidecar(caps: &[&str]) -> Value {
    json!({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0",
        "securityContext": {"capabilities": {"add": caps}}})
}

fn istio_settings() -> Value {
    json!({"exemptions": [{"checks": ["capabilities_baseline"],
        "images": ["*/istio/proxyv2*"], "values": ["NET_ADMIN", "NET_RAW"]}]})
}

#[test]
fn a_matching_container_is_exempt_for_the_listed_values_only() {
    let allowed = run(
        "default",
        json!({"containers": [{"name": "app", "image": "nginx"}],
            "initContainers": [sidecar(&["NET_ADMIN", "NET_RAW"])]}),
        istio_settings(),
    );
    assert!(allowed.response.accepted, "{:?}", allowed.response);
    let exempted = allowed.verdict.exemptions();
    assert_eq!(exempted.len(), 2, "{exempted:?}");
    assert!(exempted.iter().all(|v| v.exemption == Some(0)));
    assert_eq!(
        exempted[0].path.as_str(),
        "spec.initContainers[0].securityContext.capabilities.add[0]"
    );

    // A value the entry does not list still fails, and only it is reported.
    let denied = run(
        "default",
        json!({"containers": [sidecar(&["NET_ADMIN", "SYS_ADMIN"])]}),
        istio_settings(),
    );
    assert!(!denied.response.accepted);
    let violations = denied.verdict.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].value, json!("SYS_ADMIN"));
    assert_eq!(denied.verdict.exemptions().len(), 1);
}

#[test]
fn other_containers_and_other_checks_are_still_checked() {
    let denied = run(
        "default",
        json!({"containers": [
            {"name": "app", "image": "example.com/app:1",
                "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}, "privileged": true}},
            sidecar(&["NET_ADMIN"])]}),
        istio_settings(),
    );
    assert!(!denied.response.accepted);
    let message = denied.response.message.unwrap();
    // The message is the check's own, run without the exempt container.
    assert!(
        message
            .contains(r#"non-default capabilities (container "app" must not include "NET_ADMIN""#),
        "{message}"
    );
    assert!(!message.contains("istio-proxy"), "{message}");
    assert!(message.contains("privileged"), "{message}");
    let checks: Vec<&str> = denied
        .verdict
        .violations()
        .iter()
        .map(|v| v.check.as_str())
        .collect();
    assert_eq!(checks, ["capabilities_baseline", "privileged"]);
    let exempted = denied.verdict.exemptions();
    assert_eq!(exempted.len(), 1);
    assert_eq!(
        exempted[0].path.as_str(),
        "spec.containers[1].securityContext.capabilities.add[0]"
    );
}

#[test]
fn container_names_and_namespaces_narrow_an_entry() {
    let spec = json!({"containers": [
        {"name": "debug", "image": "busybox", "securityContext": {"privileged": true}}]});
    let settings = json!({"exemptions": [{"checks": ["privileged"], "containers": ["debug"],
        "namespaces": ["tools-*"]}]});
    assert!(
        run("tools-east", spec.clone(), settings.clone())
            .response
            .accepted
    );
    let elsewhere = run("default", spec.clone(), settings);
    assert!(!elsewhere.response.accepted);
    assert!(elsewhere.verdict.exempted.is_empty());
    let other_name = json!({"exemptions": [{"checks": ["privileged"], "containers": ["other"]}]});
    assert!(!run("tools-east", spec, other_name).response.accepted);
}

#[test]
fn a_pod_level_field_is_exempt_when_every_container_matches() {
    let settings = json!({"exemptions": [{"checks": ["hostNamespaces"],
        "images": ["registry.k8s.io/kube-proxy:*"]}]});
    let alone = json!({"hostNetwork": true,
        "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.31.0"}]});
    let run_alone = run("kube-system", alone, settings.clone());
    assert!(run_alone.response.accepted);
    assert_eq!(
        run_alone.verdict.exemptions()[0].path.as_str(),
        "spec.hostNetwork"
    );
    let with_other = json!({"hostNetwork": true, "containers": [
        {"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.31.0"},
        {"name": "other", "image": "busybox"}]});
    assert!(!run("kube-system", with_other, settings).response.accepted);
}

#[test]
fn numbers_and_booleans_match_values_as_text() {
    let spec = json!({"containers": [{"name": "web", "image": "nginx",
        "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 443, "hostPort": 8443}]}]});
    let settings =
        json!({"exemptions": [{"checks": ["hostPorts"], "images": ["nginx"], "values": [8080]}]});
    let evaluation = run("default", spec, settings);
    assert!(!evaluation.response.accepted);
    let violations = evaluation.verdict.violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].value, json!(8443));
    let message = evaluation.response.message.unwrap();
    // 8080's container still fails on 8443, so the message is PSA's for that container.
    assert!(message.contains("8443"), "{message}");
}

#[test]
fn exempted_fields_round_trip_through_the_verdicts_json() {
    let evaluation = run(
        "default",
        json!({"containers": [sidecar(&["NET_ADMIN"])]}),
        istio_settings(),
    );
    let text = serde_json::to_string(&evaluation.verdict).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["exempted"][0]["exemption"], json!(0));
    assert_eq!(
        value["exempted"][0]["check"],
        json!("capabilities_baseline")
    );
    let back: policy_core::Verdict = serde_json::from_str(&text).unwrap();
    assert_eq!(back, evaluation.verdict);
}

#[test]
fn the_namespace_labels_mode_reports_exemptions_too() {
    use policy_core::cluster::Snapshot;
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "mesh", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}});
    let mut cluster = Snapshot::new();
    assert!(cluster.add(&namespace));
    let settings = json!({"namespaceLabels": true, "exemptions": [{"checks": ["capabilities_baseline"],
        "images": ["*/istio/proxyv2*"], "values": ["NET_ADMIN"]}]});
    let input = request(
        "mesh",
        json!({"containers": [sidecar(&["NET_ADMIN"])]}),
        settings,
    );
    let evaluation = policy_core::evaluate_with(&input, &cluster).unwrap();
    assert!(evaluation.response.accepted, "{:?}", evaluation.response);
    assert_eq!(evaluation.verdict.exemptions().len(), 1);
}

#[test]
fn settings_errors_name_the_entry_and_field() {
    let error = |settings: Value| {
        Settings::from_value(&settings)
            .unwrap_err()
            .message()
            .to_owned()
    };
    assert_eq!(
        error(json!({"exemptions": [{"images": ["x"]}]})),
        "exemptions[0].checks is required: the check ids this exemption applies to (use disabledChecks to turn a check off everywhere)"
    );
    assert!(error(json!({"exemptions": [{"checks": ["nope"]}]}))
        .starts_with("exemptions[0].checks[0] \"nope\" is not a check id"));
    assert_eq!(
        error(json!({"exemptions": [{"checks": ["privileged"], "image": ["x"]}]})),
        "exemptions[0] has unknown field \"image\": use checks, images, containers, namespaces and values"
    );
    assert_eq!(
        error(json!({"exemptions": [{"checks": ["privileged"], "values": [{"a": 1}]}]})),
        "exemptions[0].values[0] must be a string, a number or a boolean, not an object"
    );
    assert_eq!(
        error(json!({"exemptions": [{"checks": ["privileged"], "namespaces": ["a*b"]}]})),
        "exemptions[0].namespaces[0] \"a*b\": a pattern is a name, \"prefix*\" or \"*suffix\""
    );
    assert!(error(json!({"exemptions": ["privileged"]}))
        .starts_with("exemptions[0] must be an object with checks"));
    assert!(error(json!({"exemptions": 3})).starts_with("exemptions must be PSA's object"));
    // PSA's object form is read as before.
    let psa =
        Settings::from_value(&json!({"exemptions": {"namespaces": ["kube-system"]}})).unwrap();
    assert_eq!(psa.excluded_namespaces, ["kube-system"]);
    assert!(psa.check_exemptions.is_empty());
}

#[test]
fn image_patterns() {
    assert!(glob_matches(
        "*/istio/proxyv2*",
        "docker.io/istio/proxyv2:1.24"
    ));
    assert!(glob_matches("*/istio/proxyv2*", "gcr.io/istio/proxyv2"));
    assert!(!glob_matches("*/istio/proxyv2*", "istio/proxyv2:1"));
    assert!(glob_matches("nginx", "nginx"));
    assert!(!glob_matches("nginx", "nginx:1"));
    assert!(glob_matches("*", ""));
    assert!(glob_matches("a*b*c", "aXXbYYc"));
    assert!(!glob_matches("a*b*c", "aXXbYY"));
    assert!(glob_matches("**a", "bba"));
}

#[test]
fn a_containers_annotation_belongs_to_it() {
    use policy_core::exemptions::belongs_to;
    let object = |settings: Value| {
        serde_json::to_vec(&json!({
            "request": {"uid": "1", "operation": "CREATE", "namespace": "default",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "object": {"metadata": {"name": "p", "annotations": {
                    "container.apparmor.security.beta.kubernetes.io/app": "unconfined"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx"}]}}},
            "settings": settings,
        }))
        .unwrap()
    };
    let exempt =
        |name: &str| json!({"exemptions": [{"checks": ["appArmorProfile"], "containers": [name]}]});
    assert!(!evaluate(&object(json!({}))).unwrap().response.accepted);
    assert!(evaluate(&object(exempt("app"))).unwrap().response.accepted);
    assert!(
        !evaluate(&object(exempt("other")))
            .unwrap()
            .response
            .accepted
    );
    let path = "metadata.annotations[container.seccomp.security.alpha.kubernetes.io/app]";
    assert!(belongs_to(path, "spec.containers[0]", "app"));
    assert!(!belongs_to(path, "spec.containers[0]", "ap"));
    assert!(belongs_to(
        "spec.containers[0].securityContext",
        "spec.containers[0]",
        "x"
    ));
    assert!(!belongs_to(
        "spec.containers[10].securityContext",
        "spec.containers[1]",
        "x"
    ));
}
