//! `podsec`: the Pod Security Standards as one WebAssembly policy module, and the wasmtime
//! host that runs it on manifests (`podsec check`), admission requests (`podsec run`) and
//! as an admission webhook.

pub mod benchdata;
pub mod commands;
pub mod manifests;
pub mod module;
pub mod runtime;
pub mod session;
pub mod settings;
pub mod webhook;
