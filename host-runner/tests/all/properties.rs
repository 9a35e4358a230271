//! The native and the wasm paths agree on random pods: policy-core called natively and the
//! module in podsec's host give the same ValidationResponse.

use podsec::module::PolicyModule;
use podsec::runtime::SandboxConfig;
use policy_core::manifest::{create_request, validation_request};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::OnceLock;

fn module() -> &'static PolicyModule {
    static MODULE: OnceLock<PolicyModule> = OnceLock::new();
    MODULE.get_or_init(|| {
        PolicyModule::load(
            None,
            SandboxConfig {
                cache_dir: Some(crate::cases::test_cache_dir()),
                ..SandboxConfig::default()
            },
        )
        .expect("module loads")
    })
}

prop_compose! {
    fn container()(
        name in "[a-z]{1,6}",
        privileged in proptest::option::of(any::<bool>()),
        escalation in proptest::option::of(any::<bool>()),
        add in proptest::sample::subsequence(vec!["CHOWN", "NET_RAW", "SYS_ADMIN"], 0..2),
        drop_all in any::<bool>(),
        user in proptest::option::of(0i64..3),
        seccomp in proptest::option::of(prop_oneof![Just("RuntimeDefault"), Just("Unconfined")]),
        host_port in proptest::option::of(0i64..3),
    ) -> Value {
        let mut sc = json!({"capabilities": {"add": add, "drop": if drop_all { vec!["ALL"] } else { vec![] }}});
        if let Some(v) = privileged { sc["privileged"] = json!(v); }
        if let Some(v) = escalation { sc["allowPrivilegeEscalation"] = json!(v); }
        if let Some(v) = user { sc["runAsUser"] = json!(v); }
        if let Some(t) = seccomp { sc["seccompProfile"] = json!({"type": t}); }
        let mut c = json!({"name": name, "image": "i", "securityContext": sc});
        if let Some(p) = host_port { c["ports"] = json!([{"containerPort": 80, "hostPort": p * 4000}]); }
        c
    }
}

prop_compose! {
    fn pod()(
        containers in proptest::collection::vec(container(), 1..3),
        host_pid in any::<bool>(),
        non_root in proptest::option::of(any::<bool>()),
        volume in prop_oneof![Just("emptyDir"), Just("hostPath"), Just("nfs")],
    ) -> Value {
        let source = if volume == "hostPath" { json!({"path": "/data"}) } else { json!({}) };
        let mut spec = json!({"containers": containers, "hostPID": host_pid, "volumes": [{"name": "v", volume: source}]});
        if let Some(v) = non_root { spec["securityContext"] = json!({"runAsNonRoot": v}); }
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn native_and_wasm_agree_on_random_pods(
        pod in pod(),
        level in prop_oneof![Just("baseline"), Just("restricted")],
        minor in 0u32..=37,
    ) {
        let settings = json!({"level": level, "version": format!("v1.{minor}")});
        let request = serde_json::to_vec(&validation_request(create_request(pod), &settings)).expect("serializes");
        let native = serde_json::to_value(policy_core::validate(&request)).expect("native");
        let wasm = serde_json::to_value(module().validate(&request).expect("the module answers")).expect("wasm");
        prop_assert_eq!(native, wasm);
    }
}
