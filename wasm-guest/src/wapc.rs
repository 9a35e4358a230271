//! The waPC side: Kubewarden's policy protocol.

use policy_core::cluster::{
    Cluster, GetResourceRequest, ListResourcesByNamespaceRequest, BINDING, GET_RESOURCE,
    LIST_RESOURCES_BY_NAMESPACE, NAMESPACE,
};
use policy_core::response::EvaluateAnswer;
use wapc_guest::{register_function, CallResult};

/// The cluster as the host tells it: Kubewarden's context-aware capabilities, one waPC
/// host call per question (binding `kubewarden`, namespace `kubernetes`).
struct HostCluster;

fn ask(operation: &str, payload: Result<Vec<u8>, serde_json::Error>) -> Result<Vec<u8>, String> {
    let payload =
        payload.map_err(|e| format!("the {operation} request does not serialise: {e}"))?;
    wapc_guest::host_call(BINDING, NAMESPACE, operation, &payload).map_err(|e| {
        // wapc-guest wraps the host's message as "Host error: …"; the message is the host's.
        let text = e.to_string();
        match text.strip_prefix("Host error: ") {
            Some(message) => message.to_owned(),
            None => text,
        }
    })
}

impl Cluster for HostCluster {
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String> {
        ask(GET_RESOURCE, serde_json::to_vec(request))
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

/// `validate`: never fails at the waPC level; bad input is a rejection with a message. In
/// the mutating mode (setting `mutate`) a refusal the fixes undo is an acceptance with
/// `mutated_object`.
pub fn validate(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&policy_core::fix::validate_or_mutate(
        payload,
        &HostCluster,
    ))?)
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
    let answer = EvaluateAnswer::from_result(policy_core::evaluate_with(payload, &HostCluster));
    Ok(serde_json::to_vec(&answer)?)
}
