//! The module where most users run it: the `wapc` + `wasmtime-provider` host Kubewarden's
//! policy-server uses (no pooling allocator, a fresh instance for every request), next to
//! podsec's own host, with a baseline module measured in the same run.
//!
//! - Compile time: wasmtime-provider's `build_pre` of the module (what policy-server pays
//!   for each policy when it starts), median of interleaved runs.
//! - Before and after: with `PODSEC_BASELINE_MODULE` set to an older module file, every pod
//!   at both levels in both hosts, the old and new module in alternating order within each
//!   round, so the machine's drift falls on both alike.
//! - Against a peer: with `PODSEC_PEER_MODULE` set to another Kubewarden policy's module
//!   (one that checks a single control, say), every pod at level baseline, interleaved the
//!   same way.

use podsec::benchdata::{log_only_host_call, median, request, PodSize};
use podsec::module::{PolicyModule, EMBEDDED_MODULE};
use podsec::runtime::{Policy, SandboxConfig};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;
use wapc::WapcHost;
use wasmtime_provider::{WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

/// Rounds per comparison; the figure is the median of the rounds' medians.
const ROUNDS: usize = 7;
/// Fresh-instance calls per round and module.
const CALLS: usize = 1_000;
/// Compilations per module for the compile-time figure.
const COMPILES: usize = 5;

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// wasmtime-provider's prepared module, as policy-server keeps it per policy.
fn prepare(bytes: &[u8]) -> Result<WasmtimeEngineProviderPre, String> {
    WasmtimeEngineProviderBuilder::new()
        .module_bytes(bytes)
        .build_pre()
        .map_err(|e| format!("wasmtime-provider cannot load the module: {e}"))
}

/// One `build_pre`, in milliseconds.
fn compile_ms(bytes: &[u8]) -> Result<f64, String> {
    let start = Instant::now();
    prepare(bytes)?;
    Ok(start.elapsed().as_secs_f64() * 1e3)
}

/// One `validate` in a fresh instance of the `wapc` host, the instance dropped within the
/// timing (policy-server drops it after each request, and unmapping its memory is part of
/// the cost).
fn wapc_validate(pre: &WasmtimeEngineProviderPre, payload: &[u8]) -> Result<(), String> {
    let provider = pre
        .rehydrate(None)
        .map_err(|e| format!("no instance: {e}"))?;
    let host = WapcHost::new(Box::new(provider), Some(Box::new(log_only_host_call)))
        .map_err(|e| format!("init: {e}"))?;
    let answer = host
        .call("validate", payload)
        .map_err(|e| format!("validate: {e}"))?;
    drop(std::hint::black_box((answer, host)));
    Ok(())
}

/// One `validate` in a fresh instance of podsec's host.
fn podsec_validate(policy: &Policy, payload: &[u8]) -> Result<(), String> {
    let answer = policy
        .call("validate", payload)
        .map_err(|e| format!("validate: {e}"))?;
    drop(std::hint::black_box(answer));
    Ok(())
}

/// The module's compile time in wasmtime-provider, and, with a baseline module, the
/// baseline's interleaved with it.
pub fn compile_time(baseline: Option<&[u8]>) -> Result<Value, String> {
    let mut after = Vec::new();
    let mut before = Vec::new();
    for _ in 0..COMPILES {
        after.push(compile_ms(EMBEDDED_MODULE)?);
        if let Some(old) = baseline {
            before.push(compile_ms(old)?);
        }
    }
    let before = (!before.is_empty()).then(|| round2(median(before)));
    Ok(json!({"after_ms": round2(median(after)), "before_ms": before}))
}

/// [`ROUNDS`] rounds of [`CALLS`] timed calls per module and measure, module 0 and module
/// 1 taking turns call by call (which goes first alternates from call to call): this
/// machine's speed drifts within seconds, and calls side by side see the same drift, where
/// blocks of a thousand calls did not. `call(which, measure)` runs measure `measure` (of
/// `N`) of module `which` once. Each module's figures: the median of its rounds' medians,
/// rounded to 0.01.
fn alternating<const N: usize>(mut call: impl FnMut(usize, usize)) -> [[f64; N]; 2] {
    let mut rounds: [Vec<[f64; N]>; 2] = Default::default();
    for _ in 0..ROUNDS {
        let per_measure: [[f64; 2]; N] = std::array::from_fn(|measure| {
            let mut times: [Vec<f64>; 2] = Default::default();
            for n in 0..CALLS {
                let order = if n % 2 == 0 { [0, 1] } else { [1, 0] };
                for which in order {
                    let start = Instant::now();
                    call(which, measure);
                    times[which].push(start.elapsed().as_secs_f64() * 1e6);
                }
            }
            times.map(median)
        });
        for (which, figures) in rounds.iter_mut().enumerate() {
            figures.push(std::array::from_fn(|measure| per_measure[measure][which]));
        }
    }
    rounds.map(|figures| {
        std::array::from_fn(|i| round2(median(figures.iter().map(|f| f[i]).collect())))
    })
}

/// `validate` in a fresh instance, another module (`other_path`) and this one interleaved
/// in the `wapc` host and in podsec's, every pod at each of `levels`:
/// `cases[level][pod][host][keys[0] | keys[1]]`, the other module's median first.
fn interleaved(
    other_path: &Path,
    other: &[u8],
    levels: &[&str],
    keys: [&str; 2],
) -> Result<Value, String> {
    let this_pre = prepare(EMBEDDED_MODULE)?;
    let other_pre = prepare(other)?;
    let this_policy =
        PolicyModule::load(None, SandboxConfig::default()).map_err(|e| format!("{e:#}"))?;
    let other_policy = PolicyModule::load(Some(other_path), SandboxConfig::default())
        .map_err(|e| format!("{e:#}"))?;
    let modules = [
        (&other_pre, other_policy.policy()),
        (&this_pre, this_policy.policy()),
    ];
    let mut cases = json!({});
    for &level in levels {
        for size in PodSize::ALL {
            let payload = request(size, level);
            // Each module answers before it is timed; the timed calls then ignore errors.
            for (pre, policy) in modules {
                wapc_validate(pre, &payload)?;
                podsec_validate(policy, &payload)?;
            }
            // The other module's medians, then this one's: wapc, podsec.
            let [[wapc_other, podsec_other], [wapc_this, podsec_this]] =
                alternating(|which, measure| {
                    let (pre, policy) = modules[which];
                    let _ = match measure {
                        0 => wapc_validate(pre, &payload),
                        _ => podsec_validate(policy, &payload),
                    };
                });
            let [other_key, this_key] = keys;
            cases[level][size.name()] = json!({
                "wapc": {other_key: wapc_other, this_key: wapc_this},
                "podsec": {other_key: podsec_other, this_key: podsec_this},
            });
        }
    }
    Ok(json!({
        "other_module_bytes": other.len(),
        "module_bytes": EMBEDDED_MODULE.len(),
        "rounds": ROUNDS,
        "calls": CALLS,
        "cases": cases,
    }))
}

/// Every pod at both levels: the baseline module (an older podsec) before, this one after.
pub fn before_after(baseline_path: &Path, baseline: &[u8]) -> Result<Value, String> {
    interleaved(
        baseline_path,
        baseline,
        &["baseline", "restricted"],
        ["before", "after"],
    )
}

/// Every pod: another Kubewarden policy (`peer`, e.g. one that checks a single control)
/// against this module at level baseline, in both hosts. The peer gets podsec's settings
/// (`{"level": "baseline"}`), which a policy that does not know the field ignores.
pub fn against_peer(peer_path: &Path, peer: &[u8]) -> Result<Value, String> {
    let mut table = interleaved(peer_path, peer, &["baseline"], ["peer", "podsec"])?;
    table["peer"] = json!(peer_path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default());
    Ok(table)
}

/// The slowest podsec figure relative to the peer's, over every pod and both hosts
/// (below 1: podsec is faster on every request), or `None` without a peer.
pub fn slowest_against_peer(table: &Value) -> Option<f64> {
    let cases = table["cases"]["baseline"].as_object()?;
    cases
        .values()
        .flat_map(|case| ["wapc", "podsec"].map(|host| &case[host]))
        .map(|host| {
            host["podsec"].as_f64().unwrap_or(f64::NAN) / host["peer"].as_f64().unwrap_or(f64::NAN)
        })
        .reduce(f64::max)
}

/// The least a waPC policy can do: read the request and accept it, without parsing it.
/// What it costs in the `wapc` host is the host's floor, the same for every module.
const FLOOR_MODULE: &str = r#"(module
  (import "wapc" "__guest_request" (func $request (param i32 i32)))
  (import "wapc" "__guest_response" (func $response (param i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "{\"accepted\":true}")
  (func (export "__guest_call") (param $operation i32) (param $payload i32) (result i32)
    (call $request (i32.const 64) (i32.const 128))
    (call $response (i32.const 0) (i32.const 17))
    (i32.const 1)))"#;

/// The `wapc` host's floor next to podsec, interleaved: `validate` of the small and the
/// many-violation pod (level baseline) in a fresh instance of [`FLOOR_MODULE`] and of
/// podsec's module.
pub fn host_floor() -> Result<Value, String> {
    let floor = wat::parse_str(FLOOR_MODULE).map_err(|e| format!("the floor module: {e}"))?;
    let modules = [prepare(&floor)?, prepare(EMBEDDED_MODULE)?];
    let mut cases = json!({});
    for size in [PodSize::Small, PodSize::Violating] {
        let payload = request(size, "baseline");
        for pre in &modules {
            wapc_validate(pre, &payload)?;
        }
        let [[floor_us], [podsec_us]] = alternating(|which, _| {
            let _ = wapc_validate(&modules[which], &payload);
        });
        cases[size.name()] = json!({"floor": floor_us, "podsec": podsec_us});
    }
    Ok(cases)
}

/// The before/after table for BENCHMARKS.md.
pub fn markdown(report: &Value) -> String {
    let mut out = String::new();
    let compile = &report["compile_ms"];
    out.push_str("\n## Kubewarden's host, and before → after\n\n");
    out.push_str(&format!(
        "Compiling the module in wasmtime-provider (`build_pre`, what policy-server pays per policy at start; median of {COMPILES}): {} ms",
        compile["after_ms"]
    ));
    match compile["before_ms"].as_f64() {
        Some(before) => out.push_str(&format!(" (baseline module: {before} ms).\n")),
        None => out.push_str(".\n"),
    }
    let table = &report["before_after"];
    if table.is_null() {
        out.push_str("\nNo baseline module was given (`make bench BASELINE=old.wasm` measures one against this one, interleaved).\n");
        return out;
    }
    out.push_str(&format!(
        "\n`validate` in a fresh instance, µs, the baseline module ({} bytes) and this one ({} bytes) interleaved: {} rounds of {} calls per module, the old and new module taking turns call by call, medians of the rounds' medians. `wapc` is the `wapc` 2.1.0 + `wasmtime-provider` 2.19.0 host policy-server uses (each call's time includes creating the instance and dropping it); podsec is podsec's own host (pooling allocator).\n\n",
        table["other_module_bytes"], table["module_bytes"], table["rounds"], table["calls"]
    ));
    out.push_str("| level | pod | wapc before | wapc after | change | podsec before | podsec after | change |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for level in ["baseline", "restricted"] {
        for size in PodSize::ALL {
            let case = &table["cases"][level][size.name()];
            let cells = |host: &str| {
                let before = case[host]["before"].as_f64().unwrap_or(f64::NAN);
                let after = case[host]["after"].as_f64().unwrap_or(f64::NAN);
                format!(
                    "{before:.1} | {after:.1} | {:+.0}%",
                    (after / before - 1.0) * 100.0
                )
            };
            out.push_str(&format!(
                "| {level} | {} | {} | {} |\n",
                size.name(),
                cells("wapc"),
                cells("podsec")
            ));
        }
    }
    out
}

/// The table of podsec against another Kubewarden policy, for BENCHMARKS.md.
pub fn peer_markdown(report: &Value) -> String {
    let table = &report["against_peer"];
    let mut out = String::from("\n## podsec against another Kubewarden policy\n\n");
    if table.is_null() {
        out.push_str("No other policy was given (`make bench PEER=policy.wasm` measures one against podsec, interleaved, in both hosts).\n");
        return out;
    }
    let peer = table["peer"].as_str().unwrap_or("the other policy");
    out.push_str(&format!(
        "`validate` in a fresh instance, µs, `{peer}` ({} bytes) and podsec ({} bytes) interleaved as above ({} rounds of {} calls), each given the same request and `{{\"level\": \"baseline\"}}`. Kubewarden's host answers a log record as policy-server does.\n\n",
        table["other_module_bytes"], table["module_bytes"], table["rounds"], table["calls"]
    ));
    out.push_str(&format!(
        "| pod | wapc: podsec | wapc: {peer} | podsec host: podsec | podsec host: {peer} |\n| --- | --- | --- | --- | --- |\n"
    ));
    for size in PodSize::ALL {
        let case = &table["cases"]["baseline"][size.name()];
        let cell = |host: &str, key: &str| case[host][key].as_f64().unwrap_or(f64::NAN);
        out.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            size.name(),
            cell("wapc", "podsec"),
            cell("wapc", "peer"),
            cell("podsec", "podsec"),
            cell("podsec", "peer"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(wapc: [f64; 2], podsec: [f64; 2]) -> Value {
        let pair = |[peer, podsec]: [f64; 2]| json!({"peer": peer, "podsec": podsec});
        json!({"cases": {"baseline": {
            "small": {"wapc": pair([100.0, 70.0]), "podsec": pair([40.0, 15.0])},
            "violating": {"wapc": pair(wapc), "podsec": pair(podsec)},
        }}})
    }

    #[test]
    fn the_slowest_pod_and_host_decides() {
        let faster = slowest_against_peer(&table([120.0, 90.0], [60.0, 30.0]));
        assert_eq!(faster, Some(0.75));
        // One pod in one host slower than the peer is enough to miss the budget.
        let slower = slowest_against_peer(&table([120.0, 90.0], [30.0, 33.0]));
        assert_eq!(slower, Some(1.1));
        assert_eq!(slowest_against_peer(&Value::Null), None);
    }

    #[test]
    fn the_modules_take_turns_call_by_call() {
        let mut calls = Vec::new();
        let figures = alternating::<2>(|which, measure| calls.push((which, measure)));
        assert_eq!(&calls[..4], &[(0, 0), (1, 0), (1, 0), (0, 0)]);
        assert_eq!(calls.len(), ROUNDS * 2 * 2 * CALLS);
        for which in 0..2 {
            for measure in 0..2 {
                let count = calls.iter().filter(|&&c| c == (which, measure)).count();
                assert_eq!(count, ROUNDS * CALLS);
            }
        }
        assert!(figures.iter().flatten().all(|f| f.is_finite() && *f >= 0.0));
    }

    #[test]
    fn the_floor_module_answers() {
        let floor = wat::parse_str(FLOOR_MODULE).expect("the floor module is valid WAT");
        let pre = prepare(&floor).expect("wasmtime-provider loads it");
        let provider = pre.rehydrate(None).expect("an instance");
        let host = WapcHost::new(Box::new(provider), None).expect("init");
        let answer = host
            .call("validate", &request(PodSize::Small, "baseline"))
            .expect("answers");
        assert_eq!(answer, br#"{"accepted":true}"#);
    }
}
