//! The host side of the waPC protocol (<https://wapc.io/docs/spec/>): the `wapc` imports a
//! guest calls to fetch its request and hand back its response or error. podsec grants no
//! host capabilities: `__host_call` always fails with a message the guest can read.

use super::HostState;
use anyhow::Result;
use wasmtime::{Caller, Extern, Linker, Memory};

/// The bytes exchanged during one `__guest_call`.
pub(crate) struct Exchange {
    operation: Vec<u8>,
    payload: Vec<u8>,
    pub(crate) response: Option<Vec<u8>>,
    pub(crate) guest_error: Option<Vec<u8>>,
}

impl Exchange {
    pub(crate) fn new(operation: &str, payload: &[u8]) -> Exchange {
        Exchange {
            operation: operation.as_bytes().to_vec(),
            payload: payload.to_vec(),
            response: None,
            guest_error: None,
        }
    }
}

const HOST_CALL_REFUSED: &[u8] = b"podsec grants policies no host capabilities";

fn memory(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(wasmtime::format_err!("the guest exports no memory")),
    }
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
        |_: Caller<'_, HostState>,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32|
         -> i32 { 0 },
    )?;
    linker.func_wrap(
        "wapc",
        "__host_response",
        |_: Caller<'_, HostState>, _: i32| {},
    )?;
    linker.func_wrap(
        "wapc",
        "__host_response_len",
        |_: Caller<'_, HostState>| -> i32 { 0 },
    )?;
    linker.func_wrap(
        "wapc",
        "__host_error",
        |mut caller: Caller<'_, HostState>, ptr: i32| -> wasmtime::Result<()> {
            write(&mut caller, ptr, HOST_CALL_REFUSED)
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__host_error_len",
        |_: Caller<'_, HostState>| -> i32 { HOST_CALL_REFUSED.len() as i32 },
    )?;
    linker.func_wrap(
        "wapc",
        "__console_log",
        |_: Caller<'_, HostState>, _: i32, _: i32| {},
    )?;
    Ok(())
}
