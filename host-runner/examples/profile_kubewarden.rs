//! Profiling driver: one `validate` per fresh instance in the `wapc` + `wasmtime-provider`
//! host Kubewarden's policy-server uses (`PROFILE_POD`: small, typical, large or violating;
//! `PROFILE_LEVEL`; `PROFILE_OP=protocol_version` for the instance's cost alone;
//! `PODSEC_MODULE` for another module file, podsec's or any Kubewarden policy's;
//! `PROFILE_DUMP=FILE` writes the request to FILE and stops; `PROFILE_BEFORE=OP` also times
//! the call in instances that have answered OP first). Run under
//! `perf record`. Host calls are answered as policy-server answers the ones a policy makes
//! on every request: a log record (`kubewarden`/`tracing`/`log`) is taken and dropped.
use podsec::benchdata::{log_only_host_call, request, PodSize};
use podsec::module::EMBEDDED_MODULE;
use wapc::WapcHost;
use wasmtime_provider::WasmtimeEngineProviderBuilder;

fn main() {
    let size = match std::env::var("PROFILE_POD").as_deref() {
        Ok("typical") => PodSize::Typical,
        Ok("large") => PodSize::Large,
        Ok("violating") => PodSize::Violating,
        _ => PodSize::Small,
    };
    let level = std::env::var("PROFILE_LEVEL").unwrap_or_else(|_| "baseline".to_owned());
    let operation = std::env::var("PROFILE_OP").unwrap_or_else(|_| "validate".to_owned());
    let bytes = match std::env::var("PODSEC_MODULE") {
        Ok(path) => std::fs::read(path).expect("module file"),
        Err(_) => EMBEDDED_MODULE.to_vec(),
    };
    let iterations: u32 = std::env::var("PROFILE_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let pre = WasmtimeEngineProviderBuilder::new()
        .module_bytes(&bytes)
        .build_pre()
        .expect("wasmtime-provider loads the module");
    let payload = request(size, &level);
    if let Ok(path) = std::env::var("PROFILE_DUMP") {
        std::fs::write(path, &payload).expect("the request is written");
        return;
    }
    let once = || {
        let provider = pre.rehydrate(None).expect("instance");
        let host =
            WapcHost::new(Box::new(provider), Some(Box::new(log_only_host_call))).expect("init");
        host.call(&operation, &payload).expect("answers")
    };
    let answer = once();
    eprintln!("{}", String::from_utf8_lossy(&answer));
    for _ in 0..1_000 {
        std::hint::black_box(once());
    }
    let mut times = Vec::with_capacity(iterations as usize);
    let faults_before = minor_faults();
    for _ in 0..iterations {
        let start = std::time::Instant::now();
        std::hint::black_box(once());
        times.push(start.elapsed());
    }
    let faults = minor_faults().saturating_sub(faults_before) as f64 / f64::from(iterations);
    // `PROFILE_BEFORE=OP`: the call alone, in a fresh instance that has already answered
    // OP (`validate` for a warm instance, `protocol_version` for one whose stack and heap
    // pages are in but whose validate code has not run).
    if let Ok(before) = std::env::var("PROFILE_BEFORE") {
        let mut calls = Vec::with_capacity(iterations as usize);
        for _ in 0..iterations {
            let provider = pre.rehydrate(None).expect("instance");
            let host = WapcHost::new(Box::new(provider), Some(Box::new(log_only_host_call)))
                .expect("init");
            std::hint::black_box(host.call(&before, &payload).expect("answers"));
            let start = std::time::Instant::now();
            std::hint::black_box(host.call(&operation, &payload).expect("answers"));
            calls.push(start.elapsed());
        }
        calls.sort();
        let median = calls.get(calls.len() / 2).copied().unwrap_or_default();
        println!(
            "{operation} after {before} in the same fresh instance: median {:.1} µs",
            median.as_secs_f64() * 1e6
        );
    }
    let median = |mut times: Vec<std::time::Duration>| {
        times.sort();
        times
            .get(times.len() / 2)
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e6
    };
    let all = median(times);
    // The phases alone: the host's store (rehydrate), then the instance and `wapc_init`.
    let phase = |with_instance: bool| {
        let mut times = Vec::with_capacity(iterations as usize);
        for _ in 0..iterations {
            let start = std::time::Instant::now();
            let provider = pre.rehydrate(None).expect("instance");
            if with_instance {
                let host = WapcHost::new(Box::new(provider), Some(Box::new(log_only_host_call)))
                    .expect("init");
                drop(std::hint::black_box(host));
            } else {
                std::hint::black_box(provider);
            }
            times.push(start.elapsed());
        }
        median(times)
    };
    let store = phase(false);
    let instance = phase(true);
    println!(
        "{operation} {} {level}: median {all:.1} µs over {iterations} fresh instances \
         (store {store:.1}, + instance and wapc_init {instance:.1}, + call {:.1}); \
         {faults:.1} page faults per request",
        size.name(),
        all - instance
    );
}

/// The process's minor page faults so far (Linux: `/proc/self/stat`'s tenth field), or 0.
fn minor_faults() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // The command name (field 2) may hold spaces; the fields after it are plain.
            let rest = stat.rsplit_once(')')?.1;
            rest.split_whitespace().nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}
