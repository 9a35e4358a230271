//! Properties of the policy over random pods (proptest): what must hold for every pod,
//! level and version, not just for the fixtures.

use policy_core::manifest::{create_request, validation_request};
use policy_core::{evaluate, Verdict};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop_oneof![Just(None), s.prop_map(Some)].boxed()
}

fn set_if(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

prop_compose! {
    /// A container with a random selection of security-relevant fields.
    fn container()(
        name in "[a-z]{1,8}",
        privileged in opt(any::<bool>()),
        escalation in opt(any::<bool>()),
        add in proptest::sample::subsequence(vec!["CHOWN", "NET_RAW", "SYS_ADMIN", "NET_BIND_SERVICE"], 0..3),
        drop in proptest::sample::subsequence(vec!["ALL", "NET_RAW"], 0..2),
        non_root in opt(any::<bool>()),
        user in opt(prop_oneof![Just(0i64), Just(1000i64)]),
        proc_mount in opt(prop_oneof![Just("Default"), Just("Unmasked")]),
        seccomp in opt(prop_oneof![Just("RuntimeDefault"), Just("Unconfined"), Just("Localhost")]),
        selinux in opt(prop_oneof![Just("container_t"), Just("spc_t")]),
        apparmor in opt(prop_oneof![Just("RuntimeDefault"), Just("Unconfined")]),
        host_port in opt(prop_oneof![Just(0i64), Just(80i64), Just(8080i64)]),
        probe_host in opt(prop_oneof![Just(""), Just("10.0.0.1")]),
    ) -> Value {
        let mut sc = Map::new();
        set_if(&mut sc, "privileged", privileged.map(Value::from));
        set_if(&mut sc, "allowPrivilegeEscalation", escalation.map(Value::from));
        if !add.is_empty() || !drop.is_empty() {
            sc.insert("capabilities".into(), json!({"add": add, "drop": drop}));
        }
        set_if(&mut sc, "runAsNonRoot", non_root.map(Value::from));
        set_if(&mut sc, "runAsUser", user.map(Value::from));
        set_if(&mut sc, "procMount", proc_mount.map(Value::from));
        set_if(&mut sc, "seccompProfile", seccomp.map(|t| json!({"type": t})));
        set_if(&mut sc, "seLinuxOptions", selinux.map(|t| json!({"type": t})));
        set_if(&mut sc, "appArmorProfile", apparmor.map(|t| json!({"type": t})));
        let mut container = Map::new();
        container.insert("name".into(), json!(name));
        container.insert("image".into(), json!(format!("registry.example.com/{name}:1")));
        if !sc.is_empty() {
            container.insert("securityContext".into(), Value::Object(sc));
        }
        if let Some(port) = host_port {
            container.insert("ports".into(), json!([{"containerPort": 80, "hostPort": port}]));
        }
        if let Some(host) = probe_host {
            container.insert("livenessProbe".into(), json!({"httpGet": {"path": "/", "port": 80, "host": host}}));
        }
        Value::Object(container)
    }
}

prop_compose! {
    /// A pod with random containers, pod-level settings and volumes.
    fn pod()(
        containers in proptest::collection::vec(container(), 1..3),
        init in proptest::collection::vec(container(), 0..2),
        host_network in opt(any::<bool>()),
        host_pid in opt(any::<bool>()),
        host_users in opt(any::<bool>()),
        non_root in opt(any::<bool>()),
        seccomp in opt(prop_oneof![Just("RuntimeDefault"), Just("Unconfined")]),
        sysctls in proptest::sample::subsequence(vec!["kernel.shm_rmid_forced", "net.ipv4.tcp_rmem", "kernel.msgmax"], 0..2),
        volumes in proptest::sample::subsequence(vec!["emptyDir", "configMap", "hostPath", "nfs"], 0..3),
    ) -> Value {
        let mut spec = Map::new();
        spec.insert("containers".into(), json!(containers));
        if !init.is_empty() {
            spec.insert("initContainers".into(), json!(init));
        }
        set_if(&mut spec, "hostNetwork", host_network.map(Value::from));
        set_if(&mut spec, "hostPID", host_pid.map(Value::from));
        set_if(&mut spec, "hostUsers", host_users.map(Value::from));
        let mut sc = Map::new();
        set_if(&mut sc, "runAsNonRoot", non_root.map(Value::from));
        set_if(&mut sc, "seccompProfile", seccomp.map(|t| json!({"type": t})));
        if !sysctls.is_empty() {
            sc.insert("sysctls".into(), json!(sysctls.iter().map(|n| json!({"name": n, "value": "1"})).collect::<Vec<_>>()));
        }
        if !sc.is_empty() {
            spec.insert("securityContext".into(), Value::Object(sc));
        }
        let volumes: Vec<Value> = volumes.iter().enumerate().map(|(i, kind)| match *kind {
            "hostPath" => json!({"name": format!("v{i}"), "hostPath": {"path": "/var/log"}}),
            "nfs" => json!({"name": format!("v{i}"), "nfs": {"server": "nfs", "path": "/"}}),
            "configMap" => json!({"name": format!("v{i}"), "configMap": {"name": "c"}}),
            _ => json!({"name": format!("v{i}"), "emptyDir": {}}),
        }).collect();
        if !volumes.is_empty() {
            spec.insert("volumes".into(), json!(volumes));
        }
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec})
    }
}

fn level() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("baseline"), Just("restricted")]
}

fn version() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("latest".to_owned()),
        (0u32..=37).prop_map(|m| format!("v1.{m}"))
    ]
}

fn judge_bytes(bytes: &[u8]) -> Verdict {
    evaluate(bytes)
        .expect("a well-formed pod is always evaluated")
        .verdict
}

fn judge(pod: &Value, level: &str, version: &str) -> Verdict {
    let request = validation_request(
        create_request(pod.clone()),
        &json!({"level": level, "version": version}),
    );
    judge_bytes(&serde_json::to_vec(&request).expect("serializes"))
}

fn failing(verdict: &Verdict) -> Vec<&'static str> {
    verdict.findings.iter().map(|f| f.check.as_str()).collect()
}

/// JSON text with every object's keys in reverse order (serde_json sorts them otherwise).
fn reversed_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .rev()
                .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), reversed_json(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(reversed_json)
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pods_without_security_fields_pass_baseline_everywhere(
        names in proptest::collection::vec("[a-z]{1,10}", 1..4),
        env in proptest::collection::vec(("[A-Z]{1,6}", "[a-z0-9]{0,8}"), 0..4),
        version in version(),
    ) {
        let containers: Vec<Value> = names.iter().map(|n| json!({
            "name": n, "image": format!("{n}:1"),
            "env": env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
            "ports": [{"containerPort": 8080}],
            "resources": {"limits": {"cpu": "1"}},
        })).collect();
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"},
            "spec": {"containers": containers, "volumes": [{"name": "d", "emptyDir": {}}]}});
        for level in ["privileged", "baseline"] {
            let verdict = judge(&pod, level, &version);
            prop_assert!(verdict.allowed, "{level} {version}: {:?}", verdict.message);
        }
        let mut hardened = pod.clone();
        hardened["spec"]["securityContext"] = json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
        for c in hardened["spec"]["containers"].as_array_mut().into_iter().flatten() {
            c["securityContext"] = json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
        }
        let verdict = judge(&hardened, "restricted", &version);
        prop_assert!(verdict.allowed, "restricted {version}: {:?}", verdict.message);
    }

    #[test]
    fn adding_a_forbidden_field_never_allows(pod in pod(), level in level(), version in version(), which in 0usize..3) {
        let before = judge(&pod, level, &version);
        let mut worse = pod.clone();
        match which {
            0 => worse["spec"]["containers"][0]["securityContext"]["privileged"] = json!(true),
            1 => worse["spec"]["hostPID"] = json!(true),
            _ => worse["spec"]["containers"][0]["ports"] = json!([{"containerPort": 1, "hostPort": 9999}]),
        }
        let after = judge(&worse, level, &version);
        prop_assert!(!after.allowed, "adding a forbidden field must deny: {:?}", after.message);
        for check in failing(&before) {
            prop_assert!(failing(&after).contains(&check), "{check} disappeared: {:?} -> {:?}", before.message, after.message);
        }
    }

    #[test]
    fn restricted_allows_only_what_baseline_allows(pod in pod(), version in version()) {
        let restricted = judge(&pod, "restricted", &version);
        let baseline = judge(&pod, "baseline", &version);
        prop_assert!(!restricted.allowed || baseline.allowed,
            "restricted allowed but baseline denied: {:?}", baseline.message);
    }

    #[test]
    fn key_order_does_not_change_the_verdict(pod in pod(), level in level(), version in version()) {
        let request = validation_request(create_request(pod), &json!({"level": level, "version": version}));
        let sorted = judge_bytes(&serde_json::to_vec(&request).expect("serializes"));
        let reversed = judge_bytes(reversed_json(&request).as_bytes());
        prop_assert_eq!(sorted.allowed, reversed.allowed);
        prop_assert_eq!(&sorted.message, &reversed.message);
        prop_assert_eq!(sorted.violations(), reversed.violations());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let response = policy_core::validate(&bytes);
        prop_assert!(!response.accepted || response.message.is_none());
        let settings = policy_core::validate_settings(&bytes);
        prop_assert!(settings.valid || settings.message.is_some());
    }
}
