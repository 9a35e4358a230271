//! The waPC side: Kubewarden's policy protocol.
//!
//! The module speaks waPC's guest ABI itself: `__guest_call` asks the host for the
//! operation's name and payload, runs the operation and hands back its answer or an error;
//! host calls go out through `__host_call`. The operations are a fixed set, so they are
//! chosen by a `match` on the name, and an instance does no work before its first call:
//! `wapc_init` is exported for hosts that expect it and does nothing. (A registry of
//! handlers filled by `wapc_init` would cost every fresh instance a write to the module's
//! statics before the request is even read; in a host that creates an instance per
//! request, each page an instance touches is paid again on every request.)

use policy_core::cluster::{
    namespace_payload, Cluster, GetResourceRequest, ListResourcesByNamespaceRequest, BINDING,
    GET_RESOURCE, LIST_RESOURCES_BY_NAMESPACE, NAMESPACE,
};
use policy_core::response::EvaluateAnswer;

/// What an operation answers: the bytes handed to the host, or an error's text.
pub type CallResult = Result<Vec<u8>, String>;

#[cfg(target_arch = "wasm32")]
mod host {
    //! The functions a waPC host gives the module (import module `wapc`).
    #[link(wasm_import_module = "wapc")]
    extern "C" {
        /// Writes the operation's name to `operation` and the payload to `payload`.
        pub fn __guest_request(operation: *mut u8, payload: *mut u8);
        /// The operation's answer.
        pub fn __guest_response(ptr: *const u8, len: usize);
        /// The operation's failure.
        pub fn __guest_error(ptr: *const u8, len: usize);
        /// Asks the host; 1 when it answered, anything else when it failed.
        pub fn __host_call(
            binding: *const u8,
            binding_len: usize,
            namespace: *const u8,
            namespace_len: usize,
            operation: *const u8,
            operation_len: usize,
            payload: *const u8,
            payload_len: usize,
        ) -> usize;
        /// The length of the host's answer to the last host call.
        pub fn __host_response_len() -> usize;
        /// Writes the host's answer to the last host call to `ptr`.
        pub fn __host_response(ptr: *mut u8);
        /// The length of the host's error for the last host call.
        pub fn __host_error_len() -> usize;
        /// Writes the host's error for the last host call to `ptr`.
        pub fn __host_error(ptr: *mut u8);
    }
}

/// Reads `len` bytes the host writes through `fill` into a new buffer.
#[cfg(target_arch = "wasm32")]
fn read_from_host(len: usize, fill: impl FnOnce(*mut u8)) -> Vec<u8> {
    let mut buffer: Vec<u8> = Vec::with_capacity(len);
    fill(buffer.as_mut_ptr());
    #[expect(
        unsafe_code,
        reason = "the host has just written `len` bytes into the buffer's capacity"
    )]
    // SAFETY: waPC hosts write exactly the length they announced into the buffer they are
    // given; the buffer's capacity is that length.
    unsafe {
        buffer.set_len(len);
    }
    buffer
}

/// waPC's entry point: runs the operation the host names on the payload it gives, and
/// answers 1 with the operation's answer, or 0 with an error.
#[cfg(target_arch = "wasm32")]
#[expect(unsafe_code, reason = "`#[no_mangle]` names the export")]
#[no_mangle]
pub extern "C" fn __guest_call(operation_len: usize, payload_len: usize) -> u32 {
    let answered = answer_call(operation_len, payload_len);
    // Everything the call allocated was dropped with `answer_call`'s frame. (A threaded
    // build has no `heap` module and keeps Rust's default allocator.)
    #[cfg(not(target_feature = "atomics"))]
    crate::heap::reset();
    answered
}

/// Reads the call's operation and payload, runs it and gives the host its answer.
#[cfg(target_arch = "wasm32")]
#[expect(unsafe_code, reason = "the host functions are foreign calls")]
fn answer_call(operation_len: usize, payload_len: usize) -> u32 {
    let mut operation: Vec<u8> = Vec::with_capacity(operation_len);
    let payload = read_from_host(payload_len, |payload| {
        // SAFETY: both buffers have room for the lengths the host announced.
        unsafe { host::__guest_request(operation.as_mut_ptr(), payload) };
    });
    // SAFETY: `__guest_request` wrote `operation_len` bytes of the name.
    unsafe { operation.set_len(operation_len) };
    match call(&operation, &payload) {
        Ok(answer) => {
            // SAFETY: the host copies `answer.len()` bytes from the answer, which is alive.
            unsafe { host::__guest_response(answer.as_ptr(), answer.len()) };
            1
        }
        Err(message) => {
            // SAFETY: as above, for the message.
            unsafe { host::__guest_error(message.as_ptr(), message.len()) };
            0
        }
    }
}

/// `wapc_init`: waPC hosts call it once per instance when a module exports it. podsec has
/// nothing to set up.
#[cfg(target_arch = "wasm32")]
#[expect(
    unsafe_code,
    reason = "`#[no_mangle]` is how a wasm module names its exports"
)]
#[no_mangle]
pub extern "C" fn wapc_init() {}

/// Runs the operation named `operation` on `payload`.
pub fn call(operation: &[u8], payload: &[u8]) -> CallResult {
    match operation {
        b"validate" => validate(payload),
        b"validate_settings" => validate_settings(payload),
        b"protocol_version" => protocol_version(payload),
        b"evaluate" => evaluate(payload),
        other => Err(format!(
            "podsec has no operation {:?}; it answers validate, validate_settings, \
             protocol_version and evaluate",
            String::from_utf8_lossy(other)
        )),
    }
}

/// Asks the host, over waPC's host call, and returns its answer or its error's text.
#[cfg(target_arch = "wasm32")]
fn host_call(binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> CallResult {
    #[expect(
        unsafe_code,
        reason = "the host functions are foreign calls over the module's memory"
    )]
    // SAFETY: every pointer is to a live string or slice of the length passed with it, and
    // the host writes its answer or error only into buffers of the length it announced.
    unsafe {
        let answered = host::__host_call(
            binding.as_ptr(),
            binding.len(),
            namespace.as_ptr(),
            namespace.len(),
            operation.as_ptr(),
            operation.len(),
            payload.as_ptr(),
            payload.len(),
        );
        if answered == 1 {
            Ok(read_from_host(host::__host_response_len(), |ptr| {
                host::__host_response(ptr)
            }))
        } else {
            let error = read_from_host(host::__host_error_len(), |ptr| host::__host_error(ptr));
            Err(String::from_utf8_lossy(&error).into_owned())
        }
    }
}

/// Outside WebAssembly there is no waPC host to ask.
#[cfg(not(target_arch = "wasm32"))]
fn host_call(_binding: &str, _namespace: &str, operation: &str, _payload: &[u8]) -> CallResult {
    Err(format!(
        "{operation}: no waPC host (the module's host calls exist only in WebAssembly)"
    ))
}

/// The cluster as the host tells it: Kubewarden's context-aware capabilities, one waPC
/// host call per question (binding `kubewarden`, namespace `kubernetes`).
struct HostCluster;

fn ask(operation: &str, payload: Result<Vec<u8>, serde_json::Error>) -> Result<Vec<u8>, String> {
    let payload =
        payload.map_err(|e| format!("the {operation} request does not serialise: {e}"))?;
    host_call(BINDING, NAMESPACE, operation, &payload)
}

impl Cluster for HostCluster {
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String> {
        ask(GET_RESOURCE, serde_json::to_vec(request))
    }

    fn get_namespace(&self, name: &str) -> Result<Vec<u8>, String> {
        ask(GET_RESOURCE, namespace_payload(name))
    }

    fn list_resources_by_namespace(
        &self,
        request: &ListResourcesByNamespaceRequest,
    ) -> Result<Vec<u8>, String> {
        ask(LIST_RESOURCES_BY_NAMESPACE, serde_json::to_vec(request))
    }
}

/// The Kubewarden policy protocol version this module speaks.
pub const PROTOCOL_VERSION: &str = "v1";

/// Serialises an operation's answer.
fn answer<T: serde::Serialize>(value: &T) -> CallResult {
    serde_json::to_vec(value).map_err(|e| format!("the answer does not serialise: {e}"))
}

/// `validate`: never fails at the waPC level; bad input is a rejection with a message. In
/// the mutating mode (setting `mutate`) a refusal the fixes undo is an acceptance with
/// `mutated_object`.
pub fn validate(payload: &[u8]) -> CallResult {
    answer(&policy_core::fix::validate_or_mutate(payload, &HostCluster))
}

/// `validate_settings`.
pub fn validate_settings(payload: &[u8]) -> CallResult {
    answer(&policy_core::validate_settings(payload))
}

/// `protocol_version`.
pub fn protocol_version(_payload: &[u8]) -> CallResult {
    answer(&PROTOCOL_VERSION)
}

/// `evaluate`: an [`EvaluateAnswer`], `{"response", "verdict"}`, or `{"response", "error"}`
/// for input that cannot be evaluated (the response is then the same rejection `validate`
/// gives).
pub fn evaluate(payload: &[u8]) -> CallResult {
    let answer_of = EvaluateAnswer::from_result(policy_core::evaluate_with(payload, &HostCluster));
    answer(&answer_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_operation_is_an_error_naming_it_and_the_known_ones() {
        let Err(message) = call(b"mutate", b"{}") else {
            panic!("an unknown operation answered");
        };
        assert!(message.contains("\"mutate\""), "{message}");
        assert!(message.contains("validate_settings"), "{message}");
    }

    #[test]
    fn each_operation_is_reached_by_its_name() {
        assert_eq!(
            call(b"protocol_version", b"").as_deref(),
            Ok(&b"\"v1\""[..])
        );
        let settings = call(b"validate_settings", b"{}").unwrap_or_default();
        assert_eq!(settings, br#"{"valid":true}"#);
        let verdict = call(b"validate", b"not json").unwrap_or_default();
        assert!(verdict.starts_with(br#"{"accepted":false"#), "{verdict:?}");
        let detailed = call(b"evaluate", b"not json").unwrap_or_default();
        assert!(detailed.starts_with(br#"{"response":"#), "{detailed:?}");
    }

    #[test]
    fn outside_webassembly_a_host_call_is_an_error() {
        let Err(message) = host_call(BINDING, NAMESPACE, GET_RESOURCE, b"{}") else {
            panic!("a host call answered without a host");
        };
        assert!(message.contains(GET_RESOURCE), "{message}");
    }
}
