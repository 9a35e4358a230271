//! Per-evaluation latency of one `validate`: policy-core natively, the module in podsec's
//! host (fresh instance per evaluation, and one reused instance), and the module in the
//! `wapc` + `wasmtime-provider` host Kubewarden's policy-server uses (fresh instance per
//! evaluation) — on small, typical and large pods, at baseline and restricted.
//!
//! `make bench` runs this and writes the medians into docs/BENCHMARKS.md.
#![expect(
    missing_docs,
    reason = "criterion's macros generate undocumented public items"
)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use podsec::benchdata::{request, PodSize};
use podsec::module::{PolicyModule, EMBEDDED_MODULE};
use podsec::runtime::SandboxConfig;
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
        group.finish();
    }
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
