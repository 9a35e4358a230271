//! Profiling driver: evaluates one built-in pod natively in a loop (for perf/callgrind).
//! Usage: cargo run --release --example profile_native -- [small|typical|large|violating]
//! [iterations] [labels]; with `labels`, the request's settings are `{"namespaceLabels":
//! true}` and namespace `shop` enforces baseline, answered from memory (the
//! namespace-labels mode's cost).
fn main() {
    let mut args = std::env::args().skip(1);
    let size = match args.next().as_deref() {
        Some("small") => podsec::benchdata::PodSize::Small,
        Some("large") => podsec::benchdata::PodSize::Large,
        Some("violating") => podsec::benchdata::PodSize::Violating,
        _ => podsec::benchdata::PodSize::Typical,
    };
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let labels = args.next().as_deref() == Some("labels");
    let (payload, cluster) = if labels {
        (
            podsec::benchdata::labelled_request(size),
            podsec::benchdata::labelled_cluster("baseline"),
        )
    } else {
        (
            podsec::benchdata::request(size, "baseline"),
            policy_core::cluster::Snapshot::new(),
        )
    };
    let mut accepted = 0usize;
    for _ in 0..iterations {
        accepted += usize::from(policy_core::fix::validate_or_mutate(&payload, &cluster).accepted);
    }
    println!("{accepted} of {iterations} accepted");
}
