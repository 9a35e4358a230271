//! Profiling driver: the fixed cost of a fresh instance (protocol_version does no work).
use podsec::module::PolicyModule;
use podsec::runtime::SandboxConfig;
fn main() {
    let module = PolicyModule::load(None, SandboxConfig::default()).expect("module");
    let policy = module.policy();
    let n = 20_000;
    for _ in 0..1000 {
        let _ = policy.call("protocol_version", b"");
    }
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(policy.call("protocol_version", b"").ok());
    }
    println!(
        "fresh protocol_version: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let mut session = policy.session().expect("session");
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(session.call("protocol_version", b"").ok());
    }
    println!(
        "reused protocol_version: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
