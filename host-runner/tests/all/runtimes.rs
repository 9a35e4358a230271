//! One artifact, three runtimes: every fixture and every PSA corpus case gets the same
//! ValidationResponse from policy-core natively, from the module in podsec's host, and from
//! the module in the `wapc` + `wasmtime-provider` host stack Kubewarden's policy-server
//! uses (a fresh instance per request, as policy-server runs policies).

use crate::cases::{corpus_cases, fixture_cases, Case};
use podsec::benchdata::{self, PodSize};
use podsec::module::{PolicyModule, EMBEDDED_MODULE};
use podsec::runtime::SandboxConfig;
use serde_json::Value;
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
    let provider = pre.rehydrate(None).expect("fresh instance");
    let host = WapcHost::new(Box::new(provider), None).expect("waPC host initialises the module");
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
        let native: Value =
            serde_json::to_value(policy_core::validate(&case.request)).expect("native");
        let in_podsec = podsec_host
            .validate(&case.request)
            .expect("podsec host answers");
        let in_podsec = serde_json::to_value(in_podsec).expect("serializes");
        let in_kubewarden: Value = serde_json::from_slice(&call_kubewarden_stack(
            &kubewarden,
            "validate",
            &case.request,
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

/// Requests far larger than the module allocator's 512 KiB arena (wasm-guest/src/heap.rs):
/// the module grows its memory, and the three runtimes still agree. Then one reused
/// instance answers large and small requests in turn, as a host that keeps instances does.
#[test]
fn requests_past_the_allocator_arena_agree() {
    let mut cases = Vec::new();
    for level in ["baseline", "restricted"] {
        cases.push(Case {
            name: format!("large pod at {level}"),
            request: benchdata::request(PodSize::Large, level),
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
        });
    }
    compare(&cases);

    let module = podsec_host();
    let mut session = module.policy().session().expect("an instance");
    let small = benchdata::request(PodSize::Small, "restricted");
    for round in 0..3 {
        for request in cases.iter().map(|c| &c.request).chain([&small]) {
            let native = serde_json::to_vec(&policy_core::validate(request)).expect("native");
            let reused = session.call("validate", request).expect("answers");
            let native: Value = serde_json::from_slice(&native).expect("JSON");
            let reused: Value = serde_json::from_slice(&reused).expect("JSON");
            assert_eq!(native, reused, "round {round}");
        }
    }
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
}

#[test]
fn module_carries_kubewarden_metadata() {
    let section =
        custom_section(EMBEDDED_MODULE, "io.kubewarden.metadata").expect("metadata section");
    let metadata: Value = serde_json::from_slice(section).expect("metadata is JSON");
    assert_eq!(metadata["protocolVersion"], "v1");
    assert_eq!(metadata["mutating"], false);
    assert_eq!(metadata["executionMode"], "kubewarden-wapc");
    assert_eq!(metadata["contextAwareResources"], serde_json::json!([]));
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
