//! The requests podsec's benchmarks evaluate: a small pod (one container, restricted's
//! fields set), a typical pod as the API server sends it (two containers, defaults filled
//! in, ~3 KB), a large one (20 containers, many volumes and ports, ~60 KB), all three
//! compliant at restricted, and a violating one (~1.2 KB) that fails most checks at once.
//! Each is a Kubewarden `ValidationRequest`.

use serde_json::{json, Value};

/// The pod sizes benchmarked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodSize {
    /// One container, nothing else.
    Small,
    /// Two containers with the fields a real Deployment's pod carries.
    Typical,
    /// Twenty containers, thirty volumes, many ports and environment variables.
    Large,
    /// One pod failing most checks: privileged, host namespaces, a hostPath volume, a host
    /// port, added capabilities, an unmasked /proc, an unconfined seccomp profile.
    Violating,
}

impl PodSize {
    /// Every size, small first.
    pub const ALL: [PodSize; 4] = [
        PodSize::Small,
        PodSize::Typical,
        PodSize::Large,
        PodSize::Violating,
    ];

    /// The size's name.
    pub fn name(self) -> &'static str {
        match self {
            PodSize::Small => "small",
            PodSize::Typical => "typical",
            PodSize::Large => "large",
            PodSize::Violating => "violating",
        }
    }
}

fn container(name: &str, image: &str, env_vars: usize, ports: usize) -> Value {
    let env: Vec<Value> = (0..env_vars)
        .map(|i| json!({"name": format!("SETTING_{i}"), "value": format!("value-{i}-of-{name}")}))
        .collect();
    let ports: Vec<Value> = (0..ports)
        .map(|i| json!({"name": format!("p{i}"), "containerPort": 8080 + i, "protocol": "TCP"}))
        .collect();
    json!({
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "ports": ports,
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "initialDelaySeconds": 5,
                          "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
        "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true},
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/app", "readOnly": true},
            {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}
        ],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File"
    })
}

/// A pod object of the given size.
pub fn pod(size: PodSize) -> Value {
    let (containers, volumes, env, ports) = match size {
        PodSize::Large => (20, 30, 40, 6),
        PodSize::Small => {
            return json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "small", "namespace": "shop"},
                "spec": {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {
                        "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}});
        }
        PodSize::Violating => {
            return json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "node-agent", "namespace": "shop"},
                "spec": {"hostNetwork": true, "hostPID": true, "hostIPC": true,
                    "securityContext": {"seccompProfile": {"type": "Unconfined"}},
                    "volumes": [{"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}}],
                    "containers": [{"name": "agent", "image": "registry.example.com/ops/node-agent:2.1.0",
                        "ports": [{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}],
                        "volumeMounts": [{"name": "host-root", "mountPath": "/host", "readOnly": true}],
                        "securityContext": {"privileged": true, "procMount": "Unmasked",
                            "capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN"]}}}]}});
        }
        PodSize::Typical => (2, 2, 0, 1),
    };
    let containers: Vec<Value> = (0..containers)
        .map(|i| {
            container(
                &format!("app-{i}"),
                &format!("registry.example.com/shop/service-{i}:1.4.{i}"),
                env,
                ports,
            )
        })
        .collect();
    let mut volume_list = vec![
        json!({"name": "config", "configMap": {"name": "app-config", "defaultMode": 420}}),
        json!({"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
        ]}}),
    ];
    for i in volume_list.len()..volumes {
        volume_list.push(json!({"name": format!("data-{i}"), "emptyDir": {"sizeLimit": "1Gi"}}));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-7d4b9c8f6d-x2x9q",
            "generateName": "web-7d4b9c8f6d-",
            "namespace": "shop",
            "uid": "6f1e7a3c-2b8d-4f7e-9c1a-5d3b2e8f4a61",
            "labels": {"app": "web", "pod-template-hash": "7d4b9c8f6d", "tier": "frontend"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-20T10:00:00Z"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c8f6d",
                                 "uid": "0b8a1f7e-4c2d-4e9b-8a3f-7c6d5e4f3a21", "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {
            "containers": containers,
            "volumes": volume_list,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "web",
            "serviceAccount": "web",
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ],
            "priority": 0,
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority"
        }
    })
}

/// The `ValidationRequest` for `size` at `level` (CREATE of the pod in namespace `shop`).
pub fn request(size: PodSize, level: &str) -> Vec<u8> {
    let request = json!({
        "request": {
            "uid": "bench-0000",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": pod(size)["metadata"]["name"],
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                         "uid": "a1b2c3d4", "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]},
            "object": pod(size),
            "oldObject": null,
            "dryRun": false,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
        },
        "settings": {"level": level}
    });
    serde_json::to_vec(&request).unwrap_or_default()
}

/// The large pod's CREATE with a 200,000-byte `last-applied-configuration` annotation (a
/// pod's annotations may hold 256 KiB in all): a request of ~265 KB, which writes far more
/// of the module's memory than any other bench pod.
pub fn huge_request(level: &str) -> Vec<u8> {
    let mut request: Value =
        serde_json::from_slice(&request(PodSize::Large, level)).unwrap_or(Value::Null);
    request["request"]["object"]["metadata"]["annotations"]
        ["kubectl.kubernetes.io/last-applied-configuration"] = Value::String("x".repeat(200_000));
    serde_json::to_vec(&request).unwrap_or_default()
}

/// The same CREATE as [`request`], in the namespace-labels mode: the level comes from the
/// labels of namespace `shop` (see [`labelled_cluster`]).
pub fn labelled_request(size: PodSize) -> Vec<u8> {
    let mut request: Value =
        serde_json::from_slice(&request(size, "baseline")).unwrap_or(Value::Null);
    request["settings"] = json!({"namespaceLabels": true});
    serde_json::to_vec(&request).unwrap_or_default()
}

/// A cluster whose namespace `shop` enforces `level` (latest), as a host answers the
/// namespace-labels mode's lookup.
pub fn labelled_cluster(level: &str) -> policy_core::cluster::Snapshot {
    let mut cluster = policy_core::cluster::Snapshot::new();
    cluster.add(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "shop", "uid": "5b0c9a8e-1d2f-4a3b-9c8d-7e6f5a4b3c2d", "resourceVersion": "4711",
        "labels": {"kubernetes.io/metadata.name": "shop", "pod-security.kubernetes.io/enforce": level}}}));
    cluster
}

/// What the namespace-labels mode adds to one `validate` of `size` at `level`, fresh
/// instance each, in podsec's host: rounds of 2,000 fixed-level calls and 2,000 labelled
/// calls in alternating order, the median call of each round, then the medians over
/// `rounds` rounds. Interleaved, so the machine's drift stays out of the difference.
/// Returns (fixed µs, labelled µs, median difference µs).
pub fn labels_extra_us(
    policy: &crate::runtime::Policy,
    size: PodSize,
    level: &str,
    rounds: usize,
) -> (f64, f64, f64) {
    let cluster: crate::runtime::HostCluster = std::sync::Arc::new(labelled_cluster(level));
    let fixed = request(size, level);
    let labelled = labelled_request(size);
    let mut run_fixed = || {
        std::hint::black_box(policy.call("validate", &fixed).ok());
    };
    let mut run_labelled = || {
        let cluster = Some(std::sync::Arc::clone(&cluster));
        std::hint::black_box(policy.call_with("validate", &labelled, cluster).ok());
    };
    let [fixed, labelled] = block_rounds(rounds, 2000, [&mut run_fixed, &mut run_labelled]);
    (
        median(fixed.clone()),
        median(labelled.clone()),
        median(labelled.iter().zip(&fixed).map(|(l, f)| l - f).collect()),
    )
}

/// `rounds` rounds in which each of `runs` makes `calls` timed calls in a block of its own,
/// the order turning by one from round to round (for two runs: alternating). Returns each
/// run's per-round medians in µs, round by round, so that figures of the same round can be
/// compared: a round's blocks see the same state of the machine, whose speed drifts over
/// minutes. Blocks, not call by call, so that each run keeps its own caches warm as it
/// would alone.
pub fn block_rounds<const N: usize>(
    rounds: usize,
    calls: usize,
    mut runs: [&mut dyn FnMut(); N],
) -> [Vec<f64>; N] {
    let mut medians: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(rounds));
    for round in 0..rounds {
        for turn in 0..N {
            let which = (round + turn) % N;
            if let (Some(run), Some(figures)) = (runs.get_mut(which), medians.get_mut(which)) {
                figures.push(timed_median_us(calls, &mut **run));
            }
        }
    }
    medians
}

/// The median over rounds of `a[i] / b[i]`: a ratio of two runs measured in the same rounds
/// ([`block_rounds`]).
pub fn median_ratio(a: &[f64], b: &[f64]) -> f64 {
    median(a.iter().zip(b).map(|(a, b)| a / b).collect())
}

/// A `wapc` host callback for the measurement drivers, answering as policy-server does for
/// the one host call a policy may make on every request: a log record
/// (`kubewarden`/`tracing`/`log`) is taken; anything else is refused. podsec's module makes
/// none outside the namespace-labels mode.
pub fn log_only_host_call(
    _id: u64,
    binding: &str,
    namespace: &str,
    operation: &str,
    _payload: &[u8],
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    match (binding, namespace, operation) {
        ("kubewarden", "tracing", "log") => Ok(Vec::new()),
        _ => Err(format!("unknown host call {binding}/{namespace}/{operation}").into()),
    }
}

/// The median of `values` (NaN for none).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The median of `calls` timings of `call`, in microseconds.
pub fn timed_median_us(calls: usize, mut call: impl FnMut()) -> f64 {
    median(
        (0..calls)
            .map(|_| {
                let start = std::time::Instant::now();
                call();
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect(),
    )
}

/// The AdmissionReview a webhook receives for `size`.
pub fn admission_review(size: PodSize) -> Vec<u8> {
    let request: Value = serde_json::from_slice(&request(size, "baseline")).unwrap_or(Value::Null);
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request["request"]});
    serde_json::to_vec(&review).unwrap_or_default()
}

/// A cluster dump as `kubectl get pods,deploy,ds,ns -A -o json` prints it: a `List` of
/// `objects` objects in 20 namespaces (a Namespace object for each, then Pods with a
/// Deployment and a DaemonSet every tenth object), built from the typical pod. Every fifth
/// workload fails, each in its own way: a host network, a privileged mesh sidecar, an added
/// capability, a host port, a hostPath volume.
pub fn cluster_dump(objects: usize) -> Value {
    let pod = pod(PodSize::Typical);
    let namespaces = 20usize.min(objects);
    let mut items: Vec<Value> = (0..namespaces)
        .map(|n| json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": format!("team-{n}"), "uid": format!("10000000-0000-4000-8000-{n:012}")}}))
        .collect();
    for i in 0..objects.saturating_sub(namespaces) {
        let mut object = pod.clone();
        let namespace = format!("team-{}", i % 20);
        object["metadata"]["name"] = json!(format!("pod-{i}"));
        object["metadata"]["namespace"] = json!(namespace);
        object["metadata"]["uid"] = json!(format!("00000000-0000-4000-8000-{i:012}"));
        if i % 5 == 0 {
            let spec = &mut object["spec"];
            match (i / 5) % 5 {
                0 => spec["hostNetwork"] = json!(true),
                1 => {
                    if let Some(containers) = spec["containers"].as_array_mut() {
                        containers.push(json!({"name": "istio-proxy",
                            "image": format!("docker.io/istio/proxyv2:1.2{}.0", i % 3),
                            "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}, "privileged": (i % 2 == 0)}}));
                    }
                }
                2 => {
                    spec["containers"][0]["securityContext"]["capabilities"]["add"] =
                        json!(["SYS_ADMIN"])
                }
                3 => spec["containers"][0]["ports"][0]["hostPort"] = json!(8080 + (i % 4)),
                _ => {
                    if let Some(volumes) = spec["volumes"].as_array_mut() {
                        volumes.push(json!({"name": "host-logs", "hostPath": {"path": format!("/var/log/team-{}", i % 3)}}));
                    }
                }
            }
        }
        if i % 10 == 9 {
            let meta = json!({"labels": object["metadata"]["labels"].clone()});
            let kind = if i % 20 == 19 {
                "DaemonSet"
            } else {
                "Deployment"
            };
            let mut workload = json!({"apiVersion": "apps/v1", "kind": kind,
                "metadata": {"name": format!("app-{i}"), "namespace": object["metadata"]["namespace"].clone(),
                    "uid": object["metadata"]["uid"].clone()},
                "spec": {"selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": meta, "spec": object["spec"].clone()}}});
            if kind == "Deployment" {
                workload["spec"]["replicas"] = json!(3);
            }
            object = workload;
        }
        items.push(object);
    }
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// The guest's stack top, where module-builder's `-zstack-size=262144` puts it: the stack
/// comes first in the module's memory and grows down from here.
pub const GUEST_STACK_TOP: usize = 256 * 1024;

/// A fresh instance of a policy module in plain wasmtime, the two waPC imports `validate`
/// uses answered (`__guest_request` writes `validate` and the store's data, the payload;
/// `__guest_response` is dropped; any other import traps), so that a test or a profile can
/// read the instance's memory or fuel around `wapc_init` and the call. Call
/// [`bare_guest_call`] after `wapc_init`.
pub fn bare_instance(
    module: &wasmtime::Module,
    store: &mut wasmtime::Store<Vec<u8>>,
) -> wasmtime::Result<wasmtime::Instance> {
    bare_instance_answering(module, store, None)
}

/// [`bare_instance`] whose host calls are answered with `answer` when there is one (the
/// namespace-labels mode's lookup of the request's Namespace: `__host_call` answers 1,
/// `__host_response_len` and `__host_response` give `answer`).
pub fn bare_instance_answering(
    module: &wasmtime::Module,
    store: &mut wasmtime::Store<Vec<u8>>,
    answer: Option<Vec<u8>>,
) -> wasmtime::Result<wasmtime::Instance> {
    use wasmtime::{Caller, Linker};
    let mut linker = Linker::new(module.engine());
    if let Some(answer) = answer {
        linker.func_wrap(
            "wapc",
            "__host_call",
            |_: Caller<'_, Vec<u8>>,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32,
             _: i32|
             -> i32 { 1 },
        )?;
        let length = i32::try_from(answer.len())?;
        linker.func_wrap(
            "wapc",
            "__host_response_len",
            move |_: Caller<'_, Vec<u8>>| -> i32 { length },
        )?;
        linker.func_wrap(
            "wapc",
            "__host_response",
            move |mut caller: Caller<'_, Vec<u8>>, ptr: i32| -> wasmtime::Result<()> {
                let memory = caller
                    .get_export("memory")
                    .and_then(|export| export.into_memory())
                    .ok_or_else(|| wasmtime::Error::msg("the module exports no memory"))?;
                memory.write(&mut caller, usize::try_from(ptr)?, &answer)?;
                Ok(())
            },
        )?;
    }
    linker.func_wrap(
        "wapc",
        "__guest_request",
        |mut caller: Caller<'_, Vec<u8>>, op: i32, ptr: i32| -> wasmtime::Result<()> {
            let memory = caller
                .get_export("memory")
                .and_then(|export| export.into_memory())
                .ok_or_else(|| wasmtime::Error::msg("the module exports no memory"))?;
            let payload = caller.data().clone();
            memory.write(&mut caller, op as usize, b"validate")?;
            memory.write(&mut caller, ptr as usize, &payload)?;
            Ok(())
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__guest_response",
        |_: Caller<'_, Vec<u8>>, _: i32, _: i32| {},
    )?;
    linker.define_unknown_imports_as_traps(module)?;
    linker.instantiate(store, module)
}

/// `wapc_init`, then `validate` of the store's payload, in a [`bare_instance`]; between
/// the two, `between` sees the store (to read fuel). The guest's answer: 1 when it
/// answered.
pub fn bare_validate(
    instance: &wasmtime::Instance,
    store: &mut wasmtime::Store<Vec<u8>>,
    mut between: impl FnMut(&mut wasmtime::Store<Vec<u8>>),
) -> wasmtime::Result<i32> {
    instance
        .get_typed_func::<(), ()>(&mut *store, "wapc_init")?
        .call(&mut *store, ())?;
    between(store);
    let length = i32::try_from(store.data().len())?;
    instance
        .get_typed_func::<(i32, i32), i32>(&mut *store, "__guest_call")?
        .call(&mut *store, (8, length))
}

/// How many bytes below [`GUEST_STACK_TOP`] the instance's stack has been written; `None`
/// when nothing below it was (the stack is no longer where module-builder puts it).
pub fn guest_stack_depth(
    instance: &wasmtime::Instance,
    store: &mut wasmtime::Store<Vec<u8>>,
) -> Option<usize> {
    let memory = instance.get_memory(&mut *store, "memory")?;
    let stack = memory.data(&*store).get(..GUEST_STACK_TOP)?;
    let low = stack.iter().position(|&b| b != 0)?;
    Some(GUEST_STACK_TOP - low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_as_advertised() {
        let typical = request(PodSize::Typical, "baseline").len();
        let large = request(PodSize::Large, "baseline").len();
        assert!(
            (2_500..4_500).contains(&typical),
            "typical is {typical} bytes"
        );
        assert!((45_000..80_000).contains(&large), "large is {large} bytes");
        let verdict = policy_core::validate(&request(PodSize::Typical, "restricted"));
        assert!(
            verdict.accepted,
            "the typical pod meets restricted: {verdict:?}"
        );
        assert!(policy_core::validate(&request(PodSize::Large, "restricted")).accepted);
        assert!(policy_core::validate(&request(PodSize::Small, "restricted")).accepted);
        let violating = request(PodSize::Violating, "baseline");
        assert!(
            (900..1_600).contains(&violating.len()),
            "violating is {} bytes",
            violating.len()
        );
        let verdict = policy_core::evaluate(&violating).expect("evaluates");
        let failed: std::collections::BTreeSet<_> = verdict
            .verdict
            .violations()
            .iter()
            .map(|v| v.check)
            .collect();
        assert!(failed.len() >= 7, "{failed:?}");
        let huge = huge_request("restricted");
        assert!(
            (250_000..300_000).contains(&huge.len()),
            "huge is {} bytes",
            huge.len()
        );
        assert!(policy_core::validate(&huge).accepted);
    }

    #[test]
    fn labelled_requests_are_judged_at_the_namespaces_level() {
        let restricted = labelled_cluster("restricted");
        let typical = policy_core::validate_with(&labelled_request(PodSize::Typical), &restricted);
        assert!(typical.accepted, "{typical:?}");
        let small = policy_core::validate_with(&labelled_request(PodSize::Violating), &restricted);
        assert!(
            small
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("violates PodSecurity \"restricted:latest\"")),
            "{small:?}"
        );
    }

    #[test]
    fn block_rounds_turn_the_order_and_keep_each_runs_rounds_apart() {
        let log = std::cell::RefCell::new(Vec::new());
        let [a, b, c] = block_rounds(
            4,
            3,
            [
                &mut || log.borrow_mut().push('a'),
                &mut || log.borrow_mut().push('b'),
                &mut || log.borrow_mut().push('c'),
            ],
        );
        // Each round: every run's block of 3 calls, starting one run later than the last.
        let blocks: String = log.borrow().iter().step_by(3).collect();
        assert_eq!(blocks, "abcbcacababc");
        assert_eq!(log.borrow().len(), 4 * 3 * 3);
        assert_eq!([a.len(), b.len(), c.len()], [4, 4, 4]);
        assert!(a
            .iter()
            .chain(&b)
            .chain(&c)
            .all(|us| us.is_finite() && *us >= 0.0));
        assert_eq!(median_ratio(&[2.0, 9.0, 4.0], &[1.0, 3.0, 1.0]), 3.0);
    }
}
