//! `validate` with structure-aware admission requests: random kinds, operations,
//! subresources, settings and pods built from the values the checks care about. Never
//! panics; the privileged level always allows; a (Linux) pod denied at baseline is denied
//! at restricted too.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

#[derive(Arbitrary, Debug)]
struct Case {
    kind: u8,
    operation: u8,
    subresource: u8,
    version: u8,
    pod: Pod,
    old_pod: Option<Pod>,
    settings: Settings,
}

#[derive(Arbitrary, Debug)]
struct Settings {
    effect_audit: bool,
    disabled: Vec<u8>,
    excluded_namespace: Option<String>,
    allowed_capabilities: Option<Vec<String>>,
    allow_host_network: bool,
    min_port: u16,
    port_span: u16,
}

#[derive(Arbitrary, Debug)]
struct Pod {
    name: String,
    annotations: Vec<(String, String)>,
    host_network: Option<bool>,
    host_pid: Option<bool>,
    host_users: Option<bool>,
    windows: bool,
    run_as_non_root: Option<bool>,
    seccomp: Option<u8>,
    sysctls: Vec<String>,
    containers: Vec<Container>,
    init_containers: Vec<Container>,
    ephemeral_containers: Vec<Container>,
    volumes: Vec<(String, u8, String)>,
}

#[derive(Arbitrary, Debug)]
struct Container {
    name: String,
    image: Option<String>,
    privileged: Option<bool>,
    escalation: Option<bool>,
    add: Vec<String>,
    drop: Vec<String>,
    run_as_user: Option<i64>,
    proc_mount: Option<String>,
    seccomp: Option<u8>,
    selinux: Option<(String, String, String)>,
    apparmor: Option<u8>,
    host_ports: Vec<i64>,
    probe_host: Option<String>,
}

const PROFILES: [&str; 4] = ["RuntimeDefault", "Localhost", "Unconfined", ""];
const VOLUMES: [&str; 6] = ["emptyDir", "hostPath", "nfs", "configMap", "image", "gitRepo"];
const KINDS: [(&str, &str); 10] = [
    ("", "Pod"), ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
    ("batch", "Job"), ("batch", "CronJob"), ("", "ReplicationController"), ("", "PodTemplate"), ("", "ConfigMap"),
];
const OPERATIONS: [&str; 4] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];
const SUBRESOURCES: [&str; 4] = ["", "ephemeralcontainers", "status", "exec"];
const CHECKS: [&str; 19] = [
    "appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPathVolumes", "hostPorts",
    "hostProbesAndHostLifecycle", "privileged", "procMount", "seLinuxOptions", "seccompProfile_baseline", "sysctls",
    "windowsHostProcess", "allowPrivilegeEscalation", "capabilities_restricted", "procMount_restricted",
    "restrictedVolumes", "runAsNonRoot", "runAsUser", "seccompProfile_restricted",
];

fn pick<T: Copy>(items: &[T], index: u8) -> T {
    items[usize::from(index) % items.len()]
}

fn container(c: &Container) -> Value {
    let mut sc = json!({});
    if let Some(v) = c.privileged { sc["privileged"] = json!(v); }
    if let Some(v) = c.escalation { sc["allowPrivilegeEscalation"] = json!(v); }
    sc["capabilities"] = json!({"add": c.add, "drop": c.drop});
    if let Some(v) = c.run_as_user { sc["runAsUser"] = json!(v); }
    if let Some(v) = &c.proc_mount { sc["procMount"] = json!(v); }
    if let Some(v) = c.seccomp { sc["seccompProfile"] = json!({"type": pick(&PROFILES, v)}); }
    if let Some((t, u, r)) = &c.selinux { sc["seLinuxOptions"] = json!({"type": t, "user": u, "role": r}); }
    if let Some(v) = c.apparmor { sc["appArmorProfile"] = json!({"type": pick(&PROFILES, v)}); }
    let ports: Vec<Value> = c.host_ports.iter().map(|p| json!({"containerPort": 80, "hostPort": p})).collect();
    let mut out = json!({"name": c.name, "securityContext": sc, "ports": ports});
    if let Some(image) = &c.image { out["image"] = json!(image); }
    if let Some(host) = &c.probe_host { out["readinessProbe"] = json!({"tcpSocket": {"port": 1, "host": host}}); }
    out
}

fn pod_spec(p: &Pod) -> Value {
    let mut sc = json!({"sysctls": p.sysctls.iter().map(|n| json!({"name": n, "value": "1"})).collect::<Vec<_>>()});
    if let Some(v) = p.run_as_non_root { sc["runAsNonRoot"] = json!(v); }
    if let Some(v) = p.seccomp { sc["seccompProfile"] = json!({"type": pick(&PROFILES, v)}); }
    let mut spec = json!({
        "containers": p.containers.iter().map(container).collect::<Vec<_>>(),
        "initContainers": p.init_containers.iter().map(container).collect::<Vec<_>>(),
        "ephemeralContainers": p.ephemeral_containers.iter().map(container).collect::<Vec<_>>(),
        "volumes": p.volumes.iter().map(|(n, k, path)| {
            let kind = pick(&VOLUMES, *k);
            json!({"name": n, kind: if kind == "hostPath" { json!({"path": path}) } else { json!({}) }})
        }).collect::<Vec<_>>(),
        "securityContext": sc,
    });
    if let Some(v) = p.host_network { spec["hostNetwork"] = json!(v); }
    if let Some(v) = p.host_pid { spec["hostPID"] = json!(v); }
    if let Some(v) = p.host_users { spec["hostUsers"] = json!(v); }
    if p.windows { spec["os"] = json!({"name": "windows"}); }
    spec
}

fn object(kind: &str, p: &Pod) -> Value {
    let annotations: serde_json::Map<String, Value> = p.annotations.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let template = json!({"metadata": {"annotations": annotations}, "spec": pod_spec(p)});
    let metadata = json!({"name": p.name, "annotations": annotations});
    match kind {
        "Pod" => json!({"metadata": metadata, "spec": pod_spec(p)}),
        "CronJob" => json!({"metadata": metadata, "spec": {"jobTemplate": {"spec": {"template": template}}}}),
        "PodTemplate" => json!({"metadata": metadata, "template": template}),
        _ => json!({"metadata": metadata, "spec": {"template": template}}),
    }
}

fn request(case: &Case, level: &str) -> Vec<u8> {
    let (group, kind) = pick(&KINDS, case.kind);
    let s = &case.settings;
    let disabled: Vec<&str> = s.disabled.iter().map(|d| pick(&CHECKS, *d)).collect();
    let mut settings = json!({
        "level": level,
        "version": if case.version > 40 { "latest".to_owned() } else { format!("v1.{}", case.version) },
        "effect": if s.effect_audit { "audit" } else { "deny" },
        "disabledChecks": disabled,
        "allowHostNetwork": s.allow_host_network,
        "minPort": s.min_port,
        "maxPort": u32::from(s.min_port) + u32::from(s.port_span),
    });
    if let Some(ns) = &s.excluded_namespace { settings["excludedNamespaces"] = json!([ns]); }
    if let Some(caps) = &s.allowed_capabilities { settings["allowedCapabilities"] = json!(caps); }
    let mut request = json!({
        "uid": "fuzz",
        "kind": {"group": group, "version": "v1", "kind": kind},
        "operation": pick(&OPERATIONS, case.operation),
        "subResource": pick(&SUBRESOURCES, case.subresource),
        "namespace": "fuzz",
        "userInfo": {"username": "fuzzer"},
        "object": object(kind, &case.pod),
    });
    if let Some(old) = &case.old_pod { request["oldObject"] = object(kind, old); }
    serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap_or_default()
}

fuzz_target!(|case: Case| {
    let privileged = policy_core::validate(&request(&case, "privileged"));
    let baseline = policy_core::validate(&request(&case, "baseline"));
    let restricted = policy_core::validate(&request(&case, "restricted"));
    // Settings may be invalid (say minPort > 65535 overflows); then every level rejects alike.
    if privileged.code == Some(400) || baseline.code == Some(400) {
        return;
    }
    assert!(privileged.accepted, "privileged allows everything: {privileged:?}");
    // Restricted allows no more than baseline, except where PSA itself says otherwise:
    // disabling a restricted check does not restore the baseline check it replaces, and
    // from v1.25 the restricted seccomp and capabilities checks exempt Windows pods while
    // the baseline checks they replace do not (fixtures/versions/windows-*.yaml).
    if !baseline.accepted && case.settings.disabled.is_empty() && !case.pod.windows {
        assert!(!restricted.accepted, "restricted allowed what baseline denied: {baseline:?}");
    }
});
