//! What the namespace-labels mode adds to one `validate`, measured interleaved: rounds of
//! fixed-level and labelled calls (fresh instance each, podsec's host; and natively) in
//! alternating order, the median of each round, then the median over rounds of the
//! difference. Interleaving keeps this VM's drift out of the difference.
//!
//! `cargo run --release -p podsec --example labels_cost`
use podsec::benchdata::{labelled_cluster, labelled_request, request, PodSize};
use podsec::module::PolicyModule;
use podsec::runtime::{HostCluster, SandboxConfig};
use std::sync::Arc;
use std::time::Instant;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The median time of one call, in microseconds, over `calls` calls timed one by one.
fn round(calls: usize, mut call: impl FnMut()) -> f64 {
    let times: Vec<f64> = (0..calls)
        .map(|_| {
            let start = Instant::now();
            call();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    median(times)
}

fn main() {
    let module = PolicyModule::load(None, SandboxConfig::default()).expect("module");
    let policy = module.policy();
    println!(
        "| level | pod | runtime | fixed level | namespace labels | extra (median of 15 rounds) |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for level in ["baseline", "restricted"] {
        let cluster = Arc::new(labelled_cluster(level));
        let host: HostCluster = Arc::clone(&cluster) as HostCluster;
        for size in [PodSize::Small, PodSize::Typical] {
            let fixed = request(size, level);
            let labelled = labelled_request(size);
            for runtime in ["native", "podsec fresh"] {
                let mut pairs = Vec::new();
                for r in 0..15 {
                    let run_fixed = || {
                        round(2000, || match runtime {
                            "native" => {
                                std::hint::black_box(policy_core::validate(&fixed));
                            }
                            _ => {
                                std::hint::black_box(policy.call("validate", &fixed).ok());
                            }
                        })
                    };
                    let run_labelled = || {
                        round(2000, || match runtime {
                            "native" => {
                                std::hint::black_box(policy_core::validate_with(
                                    &labelled,
                                    cluster.as_ref(),
                                ));
                            }
                            _ => {
                                std::hint::black_box(
                                    policy
                                        .call_with("validate", &labelled, Some(Arc::clone(&host)))
                                        .ok(),
                                );
                            }
                        })
                    };
                    let (a, b) = if r % 2 == 0 {
                        let a = run_fixed();
                        (a, run_labelled())
                    } else {
                        let b = run_labelled();
                        (run_fixed(), b)
                    };
                    pairs.push((a, b));
                }
                let fixed_median = median(pairs.iter().map(|p| p.0).collect());
                let labelled_median = median(pairs.iter().map(|p| p.1).collect());
                let extra = median(pairs.iter().map(|p| p.1 - p.0).collect());
                println!(
                    "| {level} | {} | {runtime} | {fixed_median:.2} µs | {labelled_median:.2} µs | {extra:+.2} µs |",
                    size.name()
                );
            }
        }
    }
}
