//! Profiling driver: minor page faults per fresh-instance call, and one `validate` of the
//! typical pod at paced arrival rates (a pause between calls, as admission requests
//! arrive), median and p99 of the call itself.
use podsec::benchdata::{self, PodSize};
use podsec::module::PolicyModule;
use podsec::runtime::SandboxConfig;
use std::time::{Duration, Instant};

fn measure(pause: Duration) -> (f64, f64) {
    let module = PolicyModule::load(None, SandboxConfig::default()).expect("module");
    let policy = module.policy();
    let payload = benchdata::request(PodSize::Typical, "baseline");
    let mut times = Vec::new();
    for i in 0..4000 {
        std::thread::sleep(pause);
        let t = Instant::now();
        std::hint::black_box(policy.call("validate", &payload).expect("answers"));
        if i >= 500 {
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    after
        .split_whitespace()
        .nth(7)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn faults_per_call(operation: &str) -> f64 {
    let module = PolicyModule::load(None, SandboxConfig::default()).expect("module");
    let policy = module.policy();
    let payload = benchdata::request(PodSize::Typical, "baseline");
    for _ in 0..200 {
        let _ = policy.call(operation, &payload);
    }
    let before = minor_faults();
    for _ in 0..2000 {
        std::hint::black_box(policy.call(operation, &payload).ok());
    }
    (minor_faults() - before) as f64 / 2000.0
}

fn main() {
    for operation in ["protocol_version", "validate"] {
        println!(
            "{operation}: {:.1} minor faults per fresh call (all threads)",
            faults_per_call(operation)
        );
    }
    for pause_us in [0u64, 100, 1000] {
        let (median, p99) = measure(Duration::from_micros(pause_us));
        println!("pause {pause_us:>5} µs: median {median:.1} µs, p99 {p99:.1} µs");
    }
}
