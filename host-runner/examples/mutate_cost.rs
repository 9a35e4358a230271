//! What the mutating mode costs, natively: `validate` of a pod the safe fixes make pass
//! (restricted, two containers), of a pod they cannot (privileged, host namespaces), each
//! with and without `mutate: true`, timed in alternating rounds, and the steps of a
//! mutation on their own (reading the request, fixing, evaluating again); then the same
//! requests to the module in the `wapc` + `wasmtime-provider` host Kubewarden's
//! policy-server uses, a fresh instance each.
//!
//! `cargo run --release -p podsec --example mutate_cost`
use policy_core::cluster::NoCluster;
use policy_core::fix::validate_or_mutate;
use serde_json::{json, Value};
use std::time::Instant;

fn request(object: Value, settings: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"settings": settings, "request": {
        "uid": "1", "operation": "CREATE", "namespace": "shop",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "userInfo": {"username": "u"}, "object": object}}))
    .expect("serializes")
}

/// Median microseconds of `runs` calls of `f`, over `rounds` rounds.
fn time(rounds: usize, runs: usize, mut f: impl FnMut()) -> f64 {
    let mut medians = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..runs {
            f();
        }
        medians.push(start.elapsed().as_secs_f64() * 1e6 / runs as f64);
    }
    medians.sort_by(f64::total_cmp);
    medians[medians.len() / 2]
}

fn main() {
    let fixable = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"securityContext": {"runAsNonRoot": true}, "containers": [
            {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 8080}]},
            {"name": "sidecar", "image": "envoy:1.30", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}});
    let privileged = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tool", "namespace": "shop"},
        "spec": {"hostNetwork": true, "containers": [{"name": "app", "image": "busybox",
            "securityContext": {"privileged": true, "procMount": "Unmasked"}}]}});
    println!("| pod | validate | mutating validate | extra |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, pod) in [
        ("fixable (2 containers)", &fixable),
        ("privileged", &privileged),
    ] {
        let plain = request(pod.clone(), json!({"level": "restricted"}));
        let mutating = request(pod.clone(), json!({"level": "restricted", "mutate": true}));
        let answer = validate_or_mutate(&mutating, &NoCluster);
        assert_eq!(answer.accepted, name.starts_with("fixable"), "{answer:?}");
        let mut base = Vec::new();
        let mut with = Vec::new();
        for _ in 0..9 {
            base.push(time(1, 2000, || {
                std::hint::black_box(validate_or_mutate(&plain, &NoCluster));
            }));
            with.push(time(1, 2000, || {
                std::hint::black_box(validate_or_mutate(&mutating, &NoCluster));
            }));
        }
        base.sort_by(f64::total_cmp);
        with.sort_by(f64::total_cmp);
        let (b, w) = (base[4], with[4]);
        println!("| {name} | {b:.2} µs | {w:.2} µs | {:+.2} µs |", w - b);
    }
    // The steps of a mutation, on their own.
    let text = String::from_utf8(request(
        fixable.clone(),
        json!({"level": "restricted", "mutate": true}),
    ))
    .expect("utf-8");
    let read = time(9, 2000, || {
        std::hint::black_box(serde_json::from_str::<Value>(&text).expect("JSON"));
    });
    let settings =
        policy_core::Settings::from_value(&json!({"level": "restricted"})).expect("settings");
    let fixing = time(9, 2000, || {
        std::hint::black_box(
            policy_core::fix::fix_object(
                fixable.clone(),
                &settings,
                policy_core::fix::FixOptions::default(),
            )
            .expect("fixes"),
        );
    });
    let value: Value = serde_json::from_str(&text).expect("JSON");
    let write = time(9, 2000, || {
        std::hint::black_box(serde_json::to_vec(&value).expect("serializes"));
    });
    println!("\nreading the request as a value: {read:.2} µs; writing it back: {write:.2} µs; fix_object (3 evaluations of a plain object, with the report of what is left): {fixing:.2} µs");

    let kubewarden = wasmtime_provider::WasmtimeEngineProviderBuilder::new()
        .module_bytes(podsec::module::EMBEDDED_MODULE)
        .build_pre()
        .expect("wasmtime-provider loads the module");
    println!("\nwapc + wasmtime-provider, a fresh instance per request:\n");
    println!("| pod | validate | mutating validate |");
    println!("| --- | ---: | ---: |");
    for (name, pod) in [
        ("fixable (2 containers)", &fixable),
        ("privileged", &privileged),
    ] {
        let plain = request(pod.clone(), json!({"level": "restricted"}));
        let mutating = request(pod.clone(), json!({"level": "restricted", "mutate": true}));
        let call = |payload: &[u8]| {
            let provider = kubewarden.rehydrate(None).expect("instance");
            let host = wapc::WapcHost::new(Box::new(provider), None).expect("init");
            std::hint::black_box(host.call("validate", payload).expect("answers"));
        };
        let (mut base, mut with) = (Vec::new(), Vec::new());
        for _ in 0..9 {
            base.push(time(1, 500, || call(&plain)));
            with.push(time(1, 500, || call(&mutating)));
        }
        base.sort_by(f64::total_cmp);
        with.sort_by(f64::total_cmp);
        println!("| {name} | {:.1} µs | {:.1} µs |", base[4], with[4]);
    }
}
