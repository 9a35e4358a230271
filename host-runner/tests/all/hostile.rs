//! Hostile modules: each misbehaviour is a clear error for that call, and the host keeps
//! answering. One small WAT module per case.

use podsec::runtime::{CallError, Policy, SandboxConfig};
use std::time::Duration;

const WAPC_IMPORTS: &str = r#"
  (import "wapc" "__guest_request" (func $request (param i32 i32)))
  (import "wapc" "__guest_response" (func $response (param i32 i32)))
  (import "wapc" "__guest_error" (func $error (param i32 i32)))
  (import "wapc" "__host_call" (func $host (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
"#;

fn sandbox() -> SandboxConfig {
    SandboxConfig {
        memory_limit: 16 * 1024 * 1024,
        deadline: Duration::from_millis(200),
        cache_dir: Some(crate::cases::test_cache_dir()),
        max_instances: 8,
    }
}

fn module(body: &str) -> Policy {
    let wat = format!("(module {WAPC_IMPORTS} {body})");
    Policy::load(wat.as_bytes(), sandbox()).expect("the hostile module loads")
}

#[test]
fn infinite_loop_hits_the_deadline_and_the_host_goes_on() {
    let policy = module(
        r#"(func (export "__guest_call") (param i32 i32) (result i32) (loop $spin (br $spin)) (i32.const 0))"#,
    );
    for _ in 0..2 {
        let error = policy
            .call("validate", b"{}")
            .expect_err("a loop never answers");
        assert_eq!(error, CallError::Timeout(Duration::from_millis(200)));
        assert!(
            error
                .to_string()
                .contains("ran past its deadline of 200 ms"),
            "{error}"
        );
    }
}

#[test]
fn memory_bomb_hits_the_memory_cap() {
    let policy = module(
        r#"(func (export "__guest_call") (param i32 i32) (result i32)
             (loop $grow
               (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
             unreachable)"#,
    );
    let error = policy
        .call("validate", b"{}")
        .expect_err("the bomb is stopped");
    assert_eq!(error, CallError::MemoryLimit(16 * 1024 * 1024));
    assert!(
        error.to_string().contains("memory limit of 16 MiB"),
        "{error}"
    );
}

#[test]
fn trap_is_reported_as_a_crash() {
    let policy =
        module(r#"(func (export "__guest_call") (param i32 i32) (result i32) unreachable)"#);
    let error = policy
        .call("validate", b"{}")
        .expect_err("unreachable traps");
    assert!(matches!(error, CallError::Trap(_)), "{error:?}");
    assert!(
        error.to_string().contains("the policy crashed (wasm trap"),
        "{error}"
    );
}

#[test]
fn garbage_output_is_not_a_response() {
    let policy = podsec_module_from(
        r#"(data (i32.const 64) "this is not JSON")
           (func (export "__guest_call") (param i32 i32) (result i32)
             (call $response (i32.const 64) (i32.const 16))
             (i32.const 1))"#,
    );
    let error = policy
        .validate(b"{}")
        .expect_err("not a ValidationResponse");
    assert!(
        error
            .to_string()
            .contains("the answer is not a ValidationResponse"),
        "{error}"
    );
    assert!(error.to_string().contains("this is not JSON"), "{error}");
}

#[test]
fn success_without_a_response_breaks_the_protocol() {
    let policy =
        module(r#"(func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1))"#);
    let error = policy.call("validate", b"{}").expect_err("no response");
    assert!(matches!(error, CallError::Protocol(_)), "{error:?}");
    assert!(error.to_string().contains("sent no response"), "{error}");
}

#[test]
fn guest_errors_are_passed_on() {
    let policy = module(
        r#"(data (i32.const 64) "boom")
           (func (export "__guest_call") (param i32 i32) (result i32)
             (call $error (i32.const 64) (i32.const 4))
             (i32.const 0))"#,
    );
    let error = policy.call("validate", b"{}").expect_err("guest error");
    assert_eq!(error, CallError::Guest("boom".to_owned()));
}

#[test]
fn out_of_bounds_response_pointer_is_a_trap_not_a_read() {
    let policy = module(
        r#"(func (export "__guest_call") (param i32 i32) (result i32)
             (call $response (i32.const 65530) (i32.const 100))
             (i32.const 1))"#,
    );
    let error = policy.call("validate", b"{}").expect_err("outside memory");
    assert!(error.to_string().contains("outside its memory"), "{error}");
}

#[test]
fn wrong_exports_and_imports_fail_at_load() {
    let no_call = format!("(module {WAPC_IMPORTS} (func (export \"run\")))");
    let error = Policy::load(no_call.as_bytes(), sandbox())
        .err()
        .expect("no __guest_call");
    assert!(
        error.to_string().contains("does not export __guest_call"),
        "{error}"
    );

    let odd_import = r#"(module (import "env" "system" (func)) (memory (export "memory") 1)
        (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))"#;
    let error = Policy::load(odd_import.as_bytes(), sandbox())
        .err()
        .expect("unknown import");
    assert!(error.to_string().contains("imports env::system"), "{error}");

    let error = Policy::load(b"definitely not wasm", sandbox())
        .err()
        .expect("not wasm");
    assert!(error.to_string().contains("does not compile"), "{error}");
}

#[test]
fn host_calls_are_refused() {
    let policy = module(
        r#"(func (export "__guest_call") (param i32 i32) (result i32)
             (if (i32.eqz (call $host (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
               (then (call $error (i32.const 0) (i32.const 0)) (return (i32.const 0))))
             (i32.const 0))"#,
    );
    let error = policy
        .call("validate", b"{}")
        .expect_err("host call refused");
    assert!(matches!(error, CallError::Guest(_)), "{error:?}");
}

/// A policy built with Kubewarden's SDK logs through the host (`kubewarden`/`tracing`/`log`)
/// and aborts when the record is refused: the record is taken, as policy-evaluator takes
/// it, and the policy answers. Any other `tracing` operation is refused.
#[test]
fn log_records_are_taken() {
    let policy = module(
        r#"(data (i32.const 0) "kubewardentracinglogmetrics")
           (data (i32.const 64) "{\"level\":\"info\",\"message\":\"starting validation\"}")
           (data (i32.const 128) "{\"accepted\":true}")
           (func (export "__guest_call") (param $op i32) (param $len i32) (result i32)
             ;; operation "validate" logs; anything else asks for tracing/metrics.
             (if (i32.eq (local.get $op) (i32.const 8))
               (then
                 (if (i32.eqz (call $host (i32.const 0) (i32.const 10) (i32.const 10) (i32.const 7)
                                          (i32.const 17) (i32.const 3) (i32.const 64) (i32.const 48)))
                   (then unreachable))
                 (call $response (i32.const 128) (i32.const 17))
                 (return (i32.const 1))))
             (if (i32.eqz (call $host (i32.const 0) (i32.const 10) (i32.const 10) (i32.const 7)
                                      (i32.const 20) (i32.const 7) (i32.const 64) (i32.const 48)))
               (then (call $error (i32.const 0) (i32.const 0)) (return (i32.const 0))))
             (i32.const 1))"#,
    );
    for _ in 0..2 {
        let answer = policy
            .call("validate", b"{}")
            .expect("the log record is taken");
        assert_eq!(answer, br#"{"accepted":true}"#);
    }
    let error = policy
        .call("metrics", b"{}")
        .expect_err("only log records are taken");
    assert!(matches!(error, CallError::Guest(_)), "{error:?}");
}

fn podsec_module_from(body: &str) -> podsec::module::PolicyModule {
    let wat = format!("(module {WAPC_IMPORTS} {body})");
    let dir = std::env::temp_dir().join(format!("podsec-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("garbage.wat");
    std::fs::write(&path, wat).expect("write module");
    podsec::module::PolicyModule::load(Some(&path), sandbox()).expect("loads")
}

/// A module with `evaluate` that fails one call with a waPC error: the next call is still
/// answered by `evaluate` (with a verdict), not by `validate`.
#[test]
fn one_guest_error_does_not_switch_evaluate_off() {
    let module = podsec_module_from(
        r#"(data (i32.const 64) "{\"response\":{\"accepted\":true},\"verdict\":{\"allowed\":true}}")
           (data (i32.const 256) "refused")
           (func (export "__guest_call") (param $op i32) (param $len i32) (result i32)
             (call $request (i32.const 1024) (i32.const 2048))
             ;; A payload starting with "x" is refused with a waPC error.
             (if (i32.eq (i32.load8_u (i32.const 2048)) (i32.const 120))
               (then (call $error (i32.const 256) (i32.const 7)) (return (i32.const 0))))
             (call $response (i32.const 64) (i32.const 57))
             (i32.const 1))"#,
    );
    assert!(module.has_evaluate(), "the probe finds evaluate");
    let error = module.evaluate(b"x").expect_err("refused");
    assert_eq!(error, CallError::Guest("refused".to_owned()));
    let answer = module.evaluate(b"{}").expect("answered");
    assert!(
        answer.verdict.is_some(),
        "evaluate still answers after an error: {answer:?}"
    );
}

/// A module without `evaluate` (every Kubewarden policy but podsec's) is found out at load
/// and answered through `validate`.
#[test]
fn modules_without_evaluate_are_answered_by_validate() {
    let module = podsec_module_from(
        r#"(data (i32.const 64) "{\"accepted\":false,\"message\":\"no\",\"code\":403}")
           (data (i32.const 256) "no handler for evaluate")
           (func (export "__guest_call") (param $op i32) (param $len i32) (result i32)
             (call $request (i32.const 1024) (i32.const 2048))
             ;; "evaluate" starts with "e": no such operation.
             (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 101))
               (then (call $error (i32.const 256) (i32.const 23)) (return (i32.const 0))))
             (call $response (i32.const 64) (i32.const 44))
             (i32.const 1))"#,
    );
    assert!(!module.has_evaluate());
    let answer = module.evaluate(b"{}").expect("validate answers");
    assert!(!answer.response.accepted);
    assert_eq!(answer.response.message.as_deref(), Some("no"));
    assert!(answer.verdict.is_none());
}

/// A module that never finishes `wapc_init` is reported as an initialisation that ran past
/// the deadline, not as an evaluation (nor as invalid settings).
#[test]
fn a_looping_wapc_init_is_an_initialisation_timeout() {
    let policy = module(
        r#"(func (export "wapc_init") (loop $spin (br $spin)))
           (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0))"#,
    );
    let error = policy
        .call("validate_settings", b"{}")
        .expect_err("init never ends");
    assert_eq!(error, CallError::InitTimeout(Duration::from_millis(200)));
    let text = error.to_string();
    assert!(
        text.contains("initialisation (wapc_init) ran past the deadline of 200 ms"),
        "{text}"
    );
}
