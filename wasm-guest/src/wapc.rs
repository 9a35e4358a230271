//! The waPC side: Kubewarden's policy protocol.

use policy_core::response::EvaluateAnswer;
use wapc_guest::{register_function, CallResult};

/// The Kubewarden policy protocol version this module speaks.
pub const PROTOCOL_VERSION: &str = "v1";

/// Registers the operations; waPC hosts call it once per instance.
#[expect(
    unsafe_code,
    reason = "`#[no_mangle]` is how a wasm module names its exports; nothing else here is unsafe"
)]
#[no_mangle]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version);
    register_function("evaluate", evaluate);
}

/// `validate`: never fails at the waPC level; bad input is a rejection with a message.
pub fn validate(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&policy_core::validate(payload))?)
}

/// `validate_settings`.
pub fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&policy_core::validate_settings(
        payload,
    ))?)
}

/// `protocol_version`.
pub fn protocol_version(_payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(PROTOCOL_VERSION)?)
}

/// `evaluate`: an [`EvaluateAnswer`], `{"response", "verdict"}`, or `{"response", "error"}`
/// for input that cannot be evaluated (the response is then the same rejection `validate`
/// gives).
pub fn evaluate(payload: &[u8]) -> CallResult {
    let answer = EvaluateAnswer::from_result(policy_core::evaluate(payload));
    Ok(serde_json::to_vec(&answer)?)
}
