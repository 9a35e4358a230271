//! One artifact, three runtimes: every fixture and every PSA corpus case gets the same
//! ValidationResponse from policy-core natively, from the module in podsec's host, and from
//! the module in the `wapc` + `wasmtime-provider` host stack Kubewarden's policy-server
//! uses (a fresh instance per request, as policy-server runs policies).

use crate::cases::{corpus_cases, fixture_cases, Case};
use podsec::benchdata::{self, PodSize};
use podsec::module::{PolicyModule, EMBEDDED_MODULE};
use podsec::runtime::{HostCluster, SandboxConfig};
use policy_core::cluster::{
    Cluster, GetResourceRequest, ListResourcesByNamespaceRequest, NoCluster, Snapshot,
};
use policy_core::manifest::{create_request, validation_request};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use wapc::WapcHost;
use wasmtime_provider::{WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

fn kubewarden_stack() -> WasmtimeEngineProviderPre {
    WasmtimeEngineProviderBuilder::new()
        .module_bytes(EMBEDDED_MODULE)
        .build_pre()
        .expect("wasmtime-provider loads the module")
}

fn call_kubewarden_stack(
    pre: &WasmtimeEngineProviderPre,
    operation: &str,
    payload: &[u8],
) -> Vec<u8> {
    call_kubewarden_stack_in(pre, operation, payload, None, None)
}

/// One host call the module made, as the waPC host saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostCall {
    pub binding: String,
    pub namespace: String,
    pub operation: String,
    pub payload: Value,
}

/// A fresh instance in the `wapc` + `wasmtime-provider` stack, its host calls answered as
/// Kubewarden's policy-evaluator answers them (`runtimes/callback.rs`: binding
/// `kubewarden`; a log record in namespace `tracing` taken; namespace `kubernetes` with the
/// policy's allowed resources, the object as the API server returns it, or policy-server's
/// error), each call recorded in `calls`.
pub fn call_kubewarden_stack_in(
    pre: &WasmtimeEngineProviderPre,
    operation: &str,
    payload: &[u8],
    cluster: Option<Arc<Snapshot>>,
    calls: Option<Arc<Mutex<Vec<HostCall>>>>,
) -> Vec<u8> {
    let provider = pre.rehydrate(None).expect("fresh instance");
    let callback = move |_id: u64,
                         binding: &str,
                         namespace: &str,
                         operation: &str,
                         payload: &[u8]|
          -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        if let Some(calls) = &calls {
            calls.lock().expect("calls").push(HostCall {
                binding: binding.to_owned(),
                namespace: namespace.to_owned(),
                operation: operation.to_owned(),
                payload: serde_json::from_slice(payload).unwrap_or(Value::Null),
            });
        }
        if binding != "kubewarden" {
            return Err(format!("unknown binding: {binding}").into());
        }
        if (namespace, operation) == ("tracing", "log") {
            return Ok(Vec::new());
        }
        if namespace != "kubernetes" {
            return Err(format!("unknown namespace: {namespace}").into());
        }
        let allowed = |api_version: &str, kind: &str| {
            matches!((api_version, kind), ("v1", "Namespace") | ("v1", "Pod"))
        };
        let denied = |api_version: &str, kind: &str| -> Box<dyn std::error::Error + Send + Sync> {
            format!("Policy has not been granted access to Kubernetes {api_version}/{kind} resources. The violation has been reported.").into()
        };
        let Some(cluster) = &cluster else {
            return Err("kube::Client was not initialized properly".into());
        };
        match operation {
            "get_resource" => {
                let request: GetResourceRequest = serde_json::from_slice(payload)?;
                if !allowed(&request.api_version, &request.kind) {
                    return Err(denied(&request.api_version, &request.kind));
                }
                cluster.get_resource(&request).map_err(Into::into)
            }
            "list_resources_by_namespace" => {
                let request: ListResourcesByNamespaceRequest = serde_json::from_slice(payload)?;
                if !allowed(&request.api_version, &request.kind) {
                    return Err(denied(&request.api_version, &request.kind));
                }
                cluster
                    .list_resources_by_namespace(&request)
                    .map_err(Into::into)
            }
            other => Err(format!("unknown operation: {other}").into()),
        }
    };
    let host = WapcHost::new(Box::new(provider), Some(Box::new(callback)))
        .expect("waPC host initialises the module");
    host.call(operation, payload).expect("the module answers")
}

fn podsec_host() -> PolicyModule {
    PolicyModule::load(
        None,
        SandboxConfig {
            cache_dir: Some(crate::cases::test_cache_dir()),
            ..SandboxConfig::default()
        },
    )
    .expect("podsec loads its module")
}

fn compare(cases: &[Case]) -> usize {
    let podsec_host = podsec_host();
    let kubewarden = kubewarden_stack();
    let mut mismatches = Vec::new();
    for case in cases {
        let native_cluster: &dyn Cluster = match &case.cluster {
            Some(cluster) => cluster.as_ref(),
            None => &NoCluster,
        };
        let native: Value = serde_json::to_value(policy_core::fix::validate_or_mutate(
            &case.request,
            native_cluster,
        ))
        .expect("native");
        let host_cluster = case.cluster.clone().map(|c| c as HostCluster);
        let in_podsec = podsec_host
            .validate_with(&case.request, host_cluster)
            .expect("podsec host answers");
        let in_podsec = serde_json::to_value(in_podsec).expect("serializes");
        let in_kubewarden: Value = serde_json::from_slice(&call_kubewarden_stack_in(
            &kubewarden,
            "validate",
            &case.request,
            case.cluster.clone(),
            None,
        ))
        .expect("JSON");
        if native != in_podsec || native != in_kubewarden {
            mismatches.push(format!(
                "{}:\n  native     {native}\n  podsec     {in_podsec}\n  kubewarden {in_kubewarden}",
                case.name
            ));
        }
    }
    for mismatch in mismatches.iter().take(10) {
        eprintln!("{mismatch}");
    }
    assert!(
        mismatches.is_empty(),
        "{} cases differ between runtimes",
        mismatches.len()
    );
    cases.len()
}

#[test]
fn fixtures_agree_in_three_runtimes() {
    let cases = fixture_cases();
    assert!(cases.len() >= 80);
    let compared = compare(&cases);
    println!("runtimes agree on {compared} fixtures");
}

#[test]
fn psa_corpus_agrees_in_three_runtimes() {
    let cases = corpus_cases();
    let compared = compare(&cases);
    println!("runtimes agree on {compared} PSA corpus cases");
}

/// Requests far larger than the ~500 KiB of heap in the module's initial memory
/// (wasm-guest/src/heap.rs): the module grows its memory, and the three runtimes still
/// agree. Then one reused instance answers large and small requests in turn, as a host
/// that keeps instances does, and its memory stops growing after the first round.
#[test]
fn requests_past_the_allocator_arena_agree() {
    let mut cases = Vec::new();
    for level in ["baseline", "restricted"] {
        cases.push(Case {
            name: format!("large pod at {level}"),
            request: benchdata::request(PodSize::Large, level),
            cluster: None,
        });
        // ~1.8 MB: 600 privileged containers with 40 environment variables each, so every
        // container also yields violations.
        let mut request: Value =
            serde_json::from_slice(&benchdata::request(PodSize::Large, level)).expect("JSON");
        let template = request["request"]["object"]["spec"]["containers"][0].clone();
        let containers: Vec<Value> = (0..600)
            .map(|i| {
                let mut container = template.clone();
                container["name"] = Value::from(format!("c{i}"));
                container["securityContext"]["privileged"] = Value::Bool(true);
                container
            })
            .collect();
        request["request"]["object"]["spec"]["containers"] = Value::Array(containers);
        let request = serde_json::to_vec(&request).expect("serializes");
        assert!(request.len() > 1_500_000, "{} bytes", request.len());
        cases.push(Case {
            name: format!("600 privileged containers at {level}"),
            request,
            cluster: None,
        });
    }
    compare(&cases);

    let module = podsec_host();
    let mut session = module.policy().session().expect("an instance");
    let small = benchdata::request(PodSize::Violating, "restricted");
    let mut memory_after_first_round = 0;
    for round in 0..3 {
        for request in cases.iter().map(|c| &c.request).chain([&small]) {
            let native = serde_json::to_vec(&policy_core::validate(request)).expect("native");
            let reused = session.call("validate", request).expect("answers");
            let native: Value = serde_json::from_slice(&native).expect("JSON");
            let reused: Value = serde_json::from_slice(&reused).expect("JSON");
            assert_eq!(native, reused, "round {round}");
        }
        // The heap is emptied after every call: later rounds reuse the memory the first
        // one grew into instead of growing further.
        if round == 0 {
            memory_after_first_round = session.memory_bytes();
        } else {
            assert_eq!(
                session.memory_bytes(),
                memory_after_first_round,
                "round {round}"
            );
        }
    }
    for _ in 0..2_000 {
        session.call("validate", &small).expect("answers");
    }
    assert_eq!(session.memory_bytes(), memory_after_first_round);
}

#[test]
fn kubewarden_stack_speaks_the_protocol() {
    let pre = kubewarden_stack();
    let version: Value =
        serde_json::from_slice(&call_kubewarden_stack(&pre, "protocol_version", b""))
            .expect("JSON");
    assert_eq!(version, Value::from("v1"));
    let valid: Value = serde_json::from_slice(&call_kubewarden_stack(
        &pre,
        "validate_settings",
        br#"{"level": "restricted"}"#,
    ))
    .expect("JSON");
    assert_eq!(valid, serde_json::json!({"valid": true}));
    let invalid: Value = serde_json::from_slice(&call_kubewarden_stack(
        &pre,
        "validate_settings",
        br#"{"level": "strict"}"#,
    ))
    .expect("JSON");
    assert_eq!(invalid["valid"], Value::Bool(false));
    assert!(invalid["message"]
        .as_str()
        .unwrap_or("")
        .contains("level \"strict\""));
    // An operation the module does not have is a waPC error (`__guest_error`) that names it.
    let provider = pre.rehydrate(None).expect("fresh instance");
    let host = WapcHost::new(Box::new(provider), None).expect("init");
    let Err(error) = host.call("mutate", b"{}") else {
        panic!("an unknown operation answered");
    };
    let error = error.to_string();
    assert!(
        error.contains("no operation \"mutate\"") && error.contains("validate_settings"),
        "{error}"
    );
}

/// Kubewarden's `ValidationResponse` as policy-evaluator reads a policy's answer
/// (kubewarden/policy-sdk-rust `response.rs`): nothing else may be in it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "the fields exist to be deserialized; the shape is the test"
)]
struct KubewardenResponse {
    accepted: bool,
    message: Option<String>,
    code: Option<u16>,
    mutated_object: Option<Value>,
    audit_annotations: Option<std::collections::HashMap<String, String>>,
    warnings: Option<Vec<String>>,
}

/// The mutating mode in the `wapc` + `wasmtime-provider` stack: the answer has the shape
/// policy-evaluator reads, carries the whole fixed object, and equals the native one; the
/// mutating module's metadata says it mutates.
#[test]
fn the_mutating_mode_answers_kubewarden_with_the_fixed_object() {
    let pre = kubewarden_stack();
    let pod = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {"securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "app", "image": "nginx",
                "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}}}});
    let request = serde_json::json!({
        "settings": {"level": "restricted", "mutate": true},
        "request": {"uid": "1", "operation": "CREATE", "namespace": "shop", "name": "web",
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "userInfo": {"username": "alice"}, "object": pod}});
    let payload = serde_json::to_vec(&request).expect("serializes");
    let answer = call_kubewarden_stack(&pre, "validate", &payload);
    let typed: KubewardenResponse =
        serde_json::from_slice(&answer).expect("policy-evaluator's shape");
    assert!(typed.accepted);
    let mutated = typed.mutated_object.expect("the fixed object");
    assert_eq!(
        mutated["spec"]["template"]["spec"]["containers"][0]["securityContext"],
        serde_json::json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}})
    );
    let native = serde_json::to_value(policy_core::fix::validate_or_mutate(&payload, &NoCluster))
        .expect("native");
    let answer: Value = serde_json::from_slice(&answer).expect("JSON");
    assert_eq!(answer, native);
    // The metadata of the mutating module module-builder writes beside the module.
    let mutating = concat!(env!("OUT_DIR"), "/podsec-mutating.wasm");
    match std::fs::read(mutating) {
        Ok(module) => {
            let section = custom_section(&module, "io.kubewarden.metadata").expect("metadata");
            let metadata: Value = serde_json::from_slice(section).expect("JSON");
            assert_eq!(metadata["mutating"], true);
            assert_eq!(
                metadata["annotations"]["io.kubewarden.policy.title"],
                "podsec-mutating"
            );
            let main = custom_section(EMBEDDED_MODULE, "io.kubewarden.metadata").expect("metadata");
            let main: Value = serde_json::from_slice(main).expect("JSON");
            assert_eq!(metadata["rules"], main["rules"]);
        }
        // A prebuilt module given with PODSEC_MODULE comes without its mutating twin.
        Err(_) => assert!(
            option_env!("PODSEC_MODULE").is_some(),
            "module-builder wrote no {mutating}"
        ),
    }
}

#[test]
fn module_carries_kubewarden_metadata() {
    let section =
        custom_section(EMBEDDED_MODULE, "io.kubewarden.metadata").expect("metadata section");
    let metadata: Value = serde_json::from_slice(section).expect("metadata is JSON");
    assert_eq!(metadata["protocolVersion"], "v1");
    assert_eq!(metadata["mutating"], false);
    assert_eq!(metadata["executionMode"], "kubewarden-wapc");
    assert_eq!(
        metadata["contextAwareResources"],
        serde_json::json!([{"apiVersion": "v1", "kind": "Namespace"}, {"apiVersion": "v1", "kind": "Pod"}])
    );
    let resources: Vec<&str> = metadata["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .flat_map(|r| {
            r["resources"]
                .as_array()
                .expect("resources")
                .iter()
                .filter_map(Value::as_str)
        })
        .collect();
    for kind in [
        "pods",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
        "replicationcontrollers",
        "podtemplates",
        "namespaces",
    ] {
        assert!(resources.contains(&kind), "metadata rules miss {kind}");
    }
    assert!(metadata["annotations"]["io.kubewarden.policy.title"].is_string());
}

/// Finds a custom section in a wasm binary.
fn custom_section<'m>(module: &'m [u8], name: &str) -> Option<&'m [u8]> {
    let mut rest = module.get(8..)?;
    while !rest.is_empty() {
        let id = *rest.first()?;
        let (size, used) = leb128(rest.get(1..)?)?;
        let body = rest.get(1 + used..1 + used + size)?;
        if id == 0 {
            let (name_len, name_used) = leb128(body)?;
            if body.get(name_used..name_used + name_len)? == name.as_bytes() {
                return body.get(name_used + name_len..);
            }
        }
        rest = rest.get(1 + used + size..)?;
    }
    None
}

fn leb128(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().enumerate().take(5) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// A cluster for podsec's host that records each question it is asked.
struct Recording {
    inner: Snapshot,
    calls: Mutex<Vec<(String, Value)>>,
}

impl Cluster for Recording {
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String> {
        let payload = serde_json::to_value(request).expect("serializes");
        self.calls
            .lock()
            .expect("calls")
            .push(("get_resource".to_owned(), payload));
        self.inner.get_resource(request)
    }

    fn list_resources_by_namespace(
        &self,
        request: &ListResourcesByNamespaceRequest,
    ) -> Result<Vec<u8>, String> {
        let payload = serde_json::to_value(request).expect("serializes");
        self.calls
            .lock()
            .expect("calls")
            .push(("list_resources_by_namespace".to_owned(), payload));
        self.inner.list_resources_by_namespace(request)
    }
}

fn labelled_cluster() -> Snapshot {
    let mut cluster = Snapshot::new();
    cluster.set_label("shop", "pod-security.kubernetes.io/enforce", "baseline");
    cluster.add(&serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "debug", "namespace": "shop"},
        "spec": {"hostPID": true, "containers": [{"name": "sh", "image": "busybox"}]}}));
    cluster
}

/// The module's host calls, as both hosts see them: a pod request asks `get_resource` for
/// its Namespace once (labels only) and never lists; a namespace update that tightens
/// enforce lists the pods once; the fixed-level mode asks nothing. Both hosts answer the
/// same, and the module answers them the same.
#[test]
fn host_calls_are_kubewardens_and_one_per_pod_request() {
    let settings = serde_json::json!({"namespaceLabels": true});
    let pod = validation_request(
        create_request(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"hostNetwork": true, "containers": [{"name": "app", "image": "nginx"}]}})),
        &settings,
    );
    let namespace_update = validation_request(
        serde_json::json!({"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Namespace"},
            "operation": "UPDATE", "name": "shop", "namespace": "shop",
            "object": {"metadata": {"name": "shop", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
            "oldObject": {"metadata": {"name": "shop", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}}),
        &settings,
    );
    let fixed = validation_request(
        create_request(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}})),
        &serde_json::json!({}),
    );
    let want_get = serde_json::json!({"api_version": "v1", "kind": "Namespace", "name": "shop",
        "namespace": null, "disable_cache": false, "field_masks": ["metadata.name", "metadata.labels"]});
    let want_list = serde_json::json!({"api_version": "v1", "kind": "Pod", "namespace": "shop",
        "label_selector": null, "field_selector": null,
        "field_masks": ["metadata.name", "metadata.labels", "metadata.annotations", "metadata.ownerReferences", "spec"]});
    let podsec = podsec_host();
    let kubewarden = kubewarden_stack();
    for (request, want) in [
        (&pod, vec![("get_resource", want_get)]),
        (
            &namespace_update,
            vec![("list_resources_by_namespace", want_list)],
        ),
        (&fixed, vec![]),
    ] {
        let bytes = serde_json::to_vec(request).expect("serializes");
        let recording = Arc::new(Recording {
            inner: labelled_cluster(),
            calls: Mutex::new(Vec::new()),
        });
        let in_podsec = podsec
            .validate_with(&bytes, Some(recording.clone() as HostCluster))
            .expect("podsec answers");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let in_kubewarden: Value = serde_json::from_slice(&call_kubewarden_stack_in(
            &kubewarden,
            "validate",
            &bytes,
            Some(Arc::new(labelled_cluster())),
            Some(calls.clone()),
        ))
        .expect("JSON");
        assert_eq!(
            serde_json::to_value(&in_podsec).expect("serializes"),
            in_kubewarden
        );
        let seen: Vec<(String, Value)> = calls
            .lock()
            .expect("calls")
            .iter()
            .map(|c| {
                assert_eq!(
                    (c.binding.as_str(), c.namespace.as_str()),
                    ("kubewarden", "kubernetes")
                );
                (c.operation.clone(), c.payload.clone())
            })
            .collect();
        let want: Vec<(String, Value)> = want.into_iter().map(|(o, p)| (o.to_owned(), p)).collect();
        assert_eq!(seen, want, "the kubewarden stack's host calls");
        assert_eq!(
            *recording.calls.lock().expect("calls"),
            want,
            "podsec's host calls"
        );
    }
    // The pod request was judged at the namespace's baseline label; the update warned.
    let bytes = serde_json::to_vec(&pod).expect("serializes");
    let denied = podsec
        .validate_with(&bytes, Some(Arc::new(labelled_cluster()) as HostCluster))
        .expect("answers");
    assert_eq!(
        denied.message.as_deref(),
        Some("violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true)")
    );
    let bytes = serde_json::to_vec(&namespace_update).expect("serializes");
    let warned = podsec
        .validate_with(&bytes, Some(Arc::new(labelled_cluster()) as HostCluster))
        .expect("answers");
    assert_eq!(
        warned.warnings.unwrap_or_default().first().map(String::as_str),
        Some("existing pods in namespace \"shop\" violate the new PodSecurity enforce level \"restricted:latest\"")
    );
}

/// Without a cluster, a labelled request fails as PSA fails a namespace it cannot look up,
/// with the host's reason, in both hosts alike.
#[test]
fn a_host_without_cluster_access_fails_the_lookup() {
    let request = validation_request(
        create_request(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}})),
        &serde_json::json!({"namespaceLabels": true}),
    );
    let bytes = serde_json::to_vec(&request).expect("serializes");
    let answer = podsec_host().validate(&bytes).expect("answers");
    assert!(!answer.accepted);
    assert_eq!(answer.code, Some(500));
    let message = answer.message.unwrap_or_default();
    assert!(
        message.starts_with(
            "failed to lookup namespace \"shop\": podsec grants this policy no host capabilities"
        ),
        "{message}"
    );
    let in_kubewarden: Value = serde_json::from_slice(&call_kubewarden_stack(
        &kubewarden_stack(),
        "validate",
        &bytes,
    ))
    .expect("JSON");
    assert_eq!(in_kubewarden["code"], 500);
}

/// How deep a fresh instance's stack went in `wapc_init` and one `validate` of `payload`.
fn stack_depth(module: &wasmtime::Module, payload: &[u8]) -> usize {
    let mut store = wasmtime::Store::new(module.engine(), payload.to_vec());
    let instance = benchdata::bare_instance(module, &mut store).expect("instance");
    let answered = benchdata::bare_validate(&instance, &mut store, |_| {}).expect("validate runs");
    assert_eq!(answered, 1, "validate answers");
    benchdata::guest_stack_depth(&instance, &mut store).expect(
        "a stack byte written below the stack top: has module-builder's stack size changed?",
    )
}

/// A pod's `validate` in a fresh instance (Kubewarden's host gives one to every request)
/// stays within the stack's top host page: each further page is one more page fault, and
/// one more page torn down after the request. The parse path's frames are what come
/// close (boxed request, security contexts, probes and lifecycle keep them small); the
/// bound is a 4 KiB page, the smallest a host uses.
#[test]
fn a_pods_validate_stays_in_the_stacks_top_page() {
    const HOST_PAGE: usize = 4096;
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, EMBEDDED_MODULE).expect("the module compiles");
    for size in [
        PodSize::Small,
        PodSize::Typical,
        PodSize::Large,
        PodSize::Violating,
    ] {
        for level in ["baseline", "restricted"] {
            let depth = stack_depth(&module, &benchdata::request(size, level));
            assert!(
                depth <= HOST_PAGE,
                "{} pod at {level}: validate used {depth} bytes of stack, past the top page",
                size.name()
            );
        }
    }
}
