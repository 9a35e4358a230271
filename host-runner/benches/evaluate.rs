//! Per-evaluation latency of one `validate`: policy-core natively, the module in podsec's
//! host (fresh instance per evaluation, and one reused instance), and the module in the
//! `wapc` + `wasmtime-provider` host Kubewarden's policy-server uses (fresh instance per
//! evaluation) — on small, typical and large pods, at baseline and restricted; and the same
//! pods in the namespace-labels mode (`…-labels`), the namespace's labels answered by the
//! host as policy-server answers them (one `get_resource` host call per request).
//!
//! `make bench` runs this and writes the medians into docs/BENCHMARKS.md.
#![expect(
    missing_docs,
    reason = "criterion's macros generate undocumented public items"
)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use podsec::benchdata::{labelled_cluster, labelled_request, request, PodSize};
use podsec::module::{PolicyModule, EMBEDDED_MODULE};
use podsec::runtime::HostCluster;
use podsec::runtime::SandboxConfig;
use policy_core::cluster::{Cluster as _, GetResourceRequest, Snapshot};
use std::sync::Arc;
use std::time::Duration;
use wapc::WapcHost;
use wasmtime_provider::WasmtimeEngineProviderBuilder;

fn evaluate(c: &mut Criterion) {
    let module = PolicyModule::load(None, SandboxConfig::default()).expect("module loads");
    let policy = module.policy();
    let kubewarden = WasmtimeEngineProviderBuilder::new()
        .module_bytes(EMBEDDED_MODULE)
        .build_pre()
        .expect("wasmtime-provider loads the module");
    for level in ["baseline", "restricted"] {
        let mut group = c.benchmark_group(format!("validate/{level}"));
        group
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        for size in PodSize::ALL {
            let payload = request(size, level);
            group.throughput(Throughput::Bytes(payload.len() as u64));
            group.bench_with_input(BenchmarkId::new("native", size.name()), &payload, |b, p| {
                b.iter(|| policy_core::validate(p))
            });
            group.bench_with_input(
                BenchmarkId::new("podsec-fresh", size.name()),
                &payload,
                |b, p| b.iter(|| policy.call("validate", p).expect("answers")),
            );
            let mut session = policy.session().expect("instance");
            group.bench_with_input(
                BenchmarkId::new("podsec-reused", size.name()),
                &payload,
                |b, p| b.iter(|| session.call("validate", p).expect("answers")),
            );
            group.bench_with_input(
                BenchmarkId::new("wapc-fresh", size.name()),
                &payload,
                |b, p| {
                    b.iter(|| {
                        let provider = kubewarden.rehydrate(None).expect("instance");
                        let host = WapcHost::new(Box::new(provider), None).expect("init");
                        host.call("validate", p).expect("answers")
                    })
                },
            );
        }
        // The namespace-labels mode: namespace `shop` labelled enforce=<level>.
        let cluster = Arc::new(labelled_cluster(level));
        let host_cluster: HostCluster = Arc::clone(&cluster) as HostCluster;
        for size in PodSize::ALL {
            let payload = labelled_request(size);
            group.throughput(Throughput::Bytes(payload.len() as u64));
            group.bench_with_input(
                BenchmarkId::new("native-labels", size.name()),
                &payload,
                |b, p| b.iter(|| policy_core::validate_with(p, cluster.as_ref())),
            );
            group.bench_with_input(
                BenchmarkId::new("podsec-fresh-labels", size.name()),
                &payload,
                |b, p| {
                    b.iter(|| {
                        policy
                            .call_with("validate", p, Some(Arc::clone(&host_cluster)))
                            .expect("answers")
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new("wapc-fresh-labels", size.name()),
                &payload,
                |b, p| {
                    b.iter(|| {
                        let provider = kubewarden.rehydrate(None).expect("instance");
                        let answers = Arc::clone(&cluster);
                        let host = WapcHost::new(
                            Box::new(provider),
                            Some(Box::new(move |_, _, _, operation, payload| {
                                host_call(&answers, operation, payload)
                            })),
                        )
                        .expect("init");
                        host.call("validate", p).expect("answers")
                    })
                },
            );
        }
        group.finish();
    }
}

/// policy-evaluator's answer to the module's `get_resource` (the only call a pod request
/// makes).
fn host_call(
    cluster: &Snapshot,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    if operation != "get_resource" {
        return Err(format!("unexpected host call {operation}").into());
    }
    let request: GetResourceRequest = serde_json::from_slice(payload)?;
    cluster.get_resource(&request).map_err(Into::into)
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
