//! The host side of the waPC protocol (<https://wapc.io/docs/spec/>): the `wapc` imports a
//! guest calls to fetch its request and hand back its response or error, and the host
//! calls it makes. The one capability podsec grants is Kubewarden's context-aware read of
//! v1 Namespaces and Pods (`kubewarden`/`kubernetes`/`get_resource` and
//! `list_resources_by_namespace`), answered by the call's cluster when it has one, as
//! Kubewarden's policy-evaluator answers them; every other host call fails with a message
//! the guest can read.

use super::HostState;
use anyhow::Result;
use wasmtime::{Caller, Extern, Linker, Memory};

/// The bytes exchanged during one `__guest_call`.
pub(crate) struct Exchange {
    operation: Vec<u8>,
    payload: Vec<u8>,
    pub(crate) response: Option<Vec<u8>>,
    pub(crate) guest_error: Option<Vec<u8>>,
    /// The answer to the guest's last host call: its response, or its error.
    host_answer: Result<Vec<u8>, Vec<u8>>,
}

impl Exchange {
    pub(crate) fn new(operation: &str, payload: &[u8]) -> Exchange {
        Exchange {
            operation: operation.as_bytes().to_vec(),
            payload: payload.to_vec(),
            response: None,
            guest_error: None,
            host_answer: Ok(Vec::new()),
        }
    }
}

/// The error for a host call when the call has no cluster to answer from.
pub const HOST_CALL_REFUSED: &str =
    "podsec grants this policy no host capabilities here (no cluster to answer from)";

/// The kinds a module may read, as a Kubewarden policy's `contextAwareResources` lists them.
const ALLOWED_RESOURCES: [(&str, &str); 2] = [("v1", "Namespace"), ("v1", "Pod")];

fn refused(api_version: &str, kind: &str) -> String {
    format!(
        "Policy has not been granted access to Kubernetes {api_version}/{kind} resources. The violation has been reported."
    )
}

fn allowed(api_version: &str, kind: &str) -> bool {
    ALLOWED_RESOURCES.contains(&(api_version, kind))
}

/// Answers one host call as Kubewarden's policy-evaluator does.
fn answer_host_call(
    cluster: Option<&super::HostCluster>,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    use policy_core::cluster::{GetResourceRequest, ListResourcesByNamespaceRequest};
    if binding != "kubewarden" {
        return Err(format!("unknown binding: {binding}"));
    }
    if namespace == "tracing" {
        // A policy's log record. policy-evaluator takes every one (and logs it); policies
        // built with Kubewarden's SDK abort when it is refused, so it is taken here too, and
        // dropped: podsec's output is the policy's answer.
        return match operation {
            "log" => Ok(Vec::new()),
            other => Err(format!("unknown operation: {other}")),
        };
    }
    if namespace != "kubernetes" {
        return Err(format!("unknown namespace: {namespace}"));
    }
    let Some(cluster) = cluster else {
        return Err(HOST_CALL_REFUSED.to_owned());
    };
    match operation {
        "get_resource" => {
            let request: GetResourceRequest =
                serde_json::from_slice(payload).map_err(|e| e.to_string())?;
            if !allowed(&request.api_version, &request.kind) {
                return Err(refused(&request.api_version, &request.kind));
            }
            cluster.get_resource(&request)
        }
        "list_resources_by_namespace" => {
            let request: ListResourcesByNamespaceRequest =
                serde_json::from_slice(payload).map_err(|e| e.to_string())?;
            if !allowed(&request.api_version, &request.kind) {
                return Err(refused(&request.api_version, &request.kind));
            }
            cluster.list_resources_by_namespace(&request)
        }
        other => Err(format!("unknown operation: {other}")),
    }
}

fn len_i32(bytes: &[u8]) -> i32 {
    i32::try_from(bytes.len()).unwrap_or(i32::MAX)
}

fn memory(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<Memory> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(wasmtime::format_err!("the guest exports no memory")),
    }
}

/// `len` bytes at `ptr` of the guest's memory, borrowed.
fn slice(data: &[u8], ptr: i32, len: i32) -> wasmtime::Result<&[u8]> {
    let start = usize::try_from(ptr).map_err(|_| wasmtime::format_err!("negative pointer"))?;
    let len = usize::try_from(len).map_err(|_| wasmtime::format_err!("negative length"))?;
    let end = start
        .checked_add(len)
        .ok_or_else(|| wasmtime::format_err!("pointer overflow"))?;
    data.get(start..end)
        .ok_or_else(|| wasmtime::format_err!("the guest pointed outside its memory"))
}

fn read(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    let start = usize::try_from(ptr).map_err(|_| wasmtime::format_err!("negative pointer"))?;
    let len = usize::try_from(len).map_err(|_| wasmtime::format_err!("negative length"))?;
    let end = start
        .checked_add(len)
        .ok_or_else(|| wasmtime::format_err!("pointer overflow"))?;
    memory
        .data(&*caller)
        .get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| wasmtime::format_err!("the guest pointed outside its memory"))
}

fn write(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    let memory = memory(caller)?;
    let start = usize::try_from(ptr).map_err(|_| wasmtime::format_err!("negative pointer"))?;
    memory
        .write(&mut *caller, start, bytes)
        .map_err(|_| wasmtime::format_err!("the guest pointed outside its memory"))
}

/// Defines the `wapc` imports.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    linker.func_wrap(
        "wapc",
        "__guest_request",
        |mut caller: Caller<'_, HostState>, op_ptr: i32, ptr: i32| -> wasmtime::Result<()> {
            let operation = std::mem::take(&mut caller.data_mut().wapc.operation);
            let payload = std::mem::take(&mut caller.data_mut().wapc.payload);
            write(&mut caller, op_ptr, &operation)?;
            write(&mut caller, ptr, &payload)?;
            caller.data_mut().wapc.operation = operation;
            caller.data_mut().wapc.payload = payload;
            Ok(())
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__guest_response",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let bytes = read(&mut caller, ptr, len)?;
            caller.data_mut().wapc.response = Some(bytes);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__guest_error",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let bytes = read(&mut caller, ptr, len)?;
            caller.data_mut().wapc.guest_error = Some(bytes);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__host_call",
        |mut caller: Caller<'_, HostState>,
         bd_ptr: i32,
         bd_len: i32,
         ns_ptr: i32,
         ns_len: i32,
         op_ptr: i32,
         op_len: i32,
         ptr: i32,
         len: i32|
         -> wasmtime::Result<i32> {
            // Read in place: the guest's memory and the host state borrowed together.
            let memory = memory(&mut caller)?;
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let text = |ptr: i32, len: i32| -> wasmtime::Result<std::borrow::Cow<'_, str>> {
                Ok(String::from_utf8_lossy(slice(data, ptr, len)?))
            };
            let (binding, namespace, operation) = (
                text(bd_ptr, bd_len)?,
                text(ns_ptr, ns_len)?,
                text(op_ptr, op_len)?,
            );
            let answer = answer_host_call(
                state.cluster.as_ref(),
                &binding,
                &namespace,
                &operation,
                slice(data, ptr, len)?,
            );
            let ok = answer.is_ok();
            state.wapc.host_answer = answer.map_err(String::into_bytes);
            Ok(i32::from(ok))
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__host_response",
        |mut caller: Caller<'_, HostState>, ptr: i32| -> wasmtime::Result<()> {
            // The guest reads the answer once, after its length: it is moved out, not copied.
            let bytes = match &mut caller.data_mut().wapc.host_answer {
                Ok(bytes) => std::mem::take(bytes),
                Err(_) => Vec::new(),
            };
            write(&mut caller, ptr, &bytes)
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__host_response_len",
        |caller: Caller<'_, HostState>| -> i32 {
            caller
                .data()
                .wapc
                .host_answer
                .as_ref()
                .map_or(0, |b| len_i32(b))
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__host_error",
        |mut caller: Caller<'_, HostState>, ptr: i32| -> wasmtime::Result<()> {
            let bytes = match &caller.data().wapc.host_answer {
                Ok(_) => HOST_CALL_REFUSED.as_bytes().to_vec(),
                Err(bytes) => bytes.clone(),
            };
            write(&mut caller, ptr, &bytes)
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__host_error_len",
        |caller: Caller<'_, HostState>| -> i32 {
            match &caller.data().wapc.host_answer {
                Ok(_) => len_i32(HOST_CALL_REFUSED.as_bytes()),
                Err(bytes) => len_i32(bytes),
            }
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__console_log",
        |_: Caller<'_, HostState>, _: i32, _: i32| {},
    )?;
    Ok(())
}
