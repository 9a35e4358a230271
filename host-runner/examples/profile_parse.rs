//! Profiling driver: how long serde_json alone takes to read the typical request.
fn main() {
    let payload = podsec::benchdata::request(podsec::benchdata::PodSize::Typical, "baseline");
    let n = 30_000;
    let t = std::time::Instant::now();
    let mut total = 0usize;
    for _ in 0..n {
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
        total += v.as_object().map_or(0, |o| o.len());
    }
    println!(
        "Value: {:.2} µs ({total})",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = std::time::Instant::now();
    for _ in 0..n {
        let v: serde::de::IgnoredAny =
            serde_json::from_slice(&payload).unwrap_or(serde::de::IgnoredAny);
        std::hint::black_box(v);
    }
    println!(
        "IgnoredAny: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(policy_core::evaluate(&payload).is_ok());
    }
    println!(
        "evaluate: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(policy_core::validate(&payload));
    }
    println!(
        "validate: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
