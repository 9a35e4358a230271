//! Profiling driver: modules side by side in the `wapc` + `wasmtime-provider` host
//! Kubewarden's policy-server uses, a fresh instance per `validate`, interleaved call by call
//! so the machine's drift falls on every module alike. Each round times `PROFILE_N` calls
//! (default 2,000) of each module, the modules taking turns in an order that rotates from
//! call to call; the figure is the median of the rounds' medians (`PROFILE_ROUNDS`, default 7), per pod (`PROFILE_PODS`,
//! default `small,violating`) at `PROFILE_LEVEL` (default baseline). With `PROFILE_PHASES=1`
//! each module's request is also given in its phases, medians over every round: the store
//! (`rehydrate`), the instance (`WapcHost::new`, with `wapc_init`), the call, and dropping
//! the instance. With `PROFILE_COMPILES=N` each module is first compiled N times, the
//! modules taking turns, and the median compile time printed (what a policy-server start
//! pays per module).
//!
//! `cargo run --release -p podsec --example compare_kubewarden -- old.wasm dist/podsec.wasm`
use podsec::benchdata::{log_only_host_call, median, request, PodSize};
use std::time::Instant;
use wapc::WapcHost;
use wasmtime_provider::{WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

/// One `validate` in a fresh instance: the microseconds of its four phases (store,
/// instance, call, drop).
fn validate(pre: &WasmtimeEngineProviderPre, payload: &[u8]) -> [f64; 4] {
    let start = Instant::now();
    let provider = pre.rehydrate(None).expect("a store");
    let stored = Instant::now();
    let host =
        WapcHost::new(Box::new(provider), Some(Box::new(log_only_host_call))).expect("an instance");
    let instantiated = Instant::now();
    std::hint::black_box(host.call("validate", payload).expect("an answer"));
    let called = Instant::now();
    drop(host);
    let dropped = Instant::now();
    [
        stored - start,
        instantiated - stored,
        called - instantiated,
        dropped - called,
    ]
    .map(|phase| phase.as_secs_f64() * 1e6)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    assert!(
        !paths.is_empty(),
        "usage: compare_kubewarden A.wasm [B.wasm ...]"
    );
    let calls = env_number("PROFILE_N", 2_000);
    let rounds = env_number("PROFILE_ROUNDS", 7);
    let level = std::env::var("PROFILE_LEVEL").unwrap_or_else(|_| "baseline".to_owned());
    let pods = std::env::var("PROFILE_PODS").unwrap_or_else(|_| "small,violating".to_owned());
    let phases = std::env::var("PROFILE_PHASES").is_ok_and(|v| v == "1");
    let compile = |bytes: &[u8]| {
        WasmtimeEngineProviderBuilder::new()
            .module_bytes(bytes)
            .build_pre()
            .expect("wasmtime-provider loads the module")
    };
    let files: Vec<Vec<u8>> = paths
        .iter()
        .map(|path| std::fs::read(path).expect("the module file"))
        .collect();
    let compiles = env_number("PROFILE_COMPILES", 0);
    if compiles > 0 {
        let mut times = vec![Vec::with_capacity(compiles); files.len()];
        for _ in 0..compiles {
            for (bytes, times) in files.iter().zip(&mut times) {
                let start = Instant::now();
                std::hint::black_box(compile(bytes));
                times.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        for (path, times) in paths.iter().zip(times) {
            println!("compile {path}: {:.1} ms", median(times));
        }
    }
    let modules: Vec<WasmtimeEngineProviderPre> =
        files.iter().map(|bytes| compile(bytes)).collect();
    println!("| pod | {} |", paths.join(" | "));
    println!("| --- |{}", " ---: |".repeat(paths.len()));
    for pod in pods.split(',') {
        let size = match pod {
            "typical" => PodSize::Typical,
            "large" => PodSize::Large,
            "violating" => PodSize::Violating,
            _ => PodSize::Small,
        };
        let payload = request(size, &level);
        let mut medians = vec![Vec::with_capacity(rounds); modules.len()];
        let mut phase_times: Vec<[Vec<f64>; 4]> = vec![Default::default(); modules.len()];
        for pre in &modules {
            for _ in 0..calls / 4 {
                validate(pre, &payload);
            }
        }
        for _ in 0..rounds {
            let mut times = vec![Vec::with_capacity(calls); modules.len()];
            for call in 0..calls {
                // Call by call, in an order that rotates, so drift falls on each alike.
                for offset in 0..modules.len() {
                    let which = (call + offset) % modules.len();
                    let phase = validate(&modules[which], &payload);
                    times[which].push(phase.iter().sum());
                    for (all, time) in phase_times[which].iter_mut().zip(phase) {
                        all.push(time);
                    }
                }
            }
            for (which, times) in times.into_iter().enumerate() {
                medians[which].push(median(times));
            }
        }
        let cells: Vec<String> = medians
            .iter_mut()
            .map(|m| format!("{:.1}", median(std::mem::take(m))))
            .collect();
        println!("| {pod} {level} | {} |", cells.join(" | "));
        if phases {
            for (path, times) in paths.iter().zip(phase_times) {
                let [store, instance, call, dropped] = times.map(median);
                println!(
                    "  {path}: store {store:.1}, instance {instance:.1}, call {call:.1}, \
                     drop {dropped:.1} µs"
                );
            }
        }
    }
}
