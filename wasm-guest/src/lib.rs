//! podsec's policy module: policy-core behind Kubewarden's policy protocol over waPC. (The
//! browser playground's engine, policy-core over wasm-bindgen, is its own crate:
//! `bindings/playground`.)
//!
//! waPC operations
//! (documented with every JSON shape in `docs/ABI.md`):
//! - `validate`: `ValidationRequest` → `ValidationResponse`
//! - `validate_settings`: settings → `{"valid", "message"}`
//! - `protocol_version`: → `"v1"`
//! - `evaluate` (podsec's own): `ValidationRequest` → `{"response", "verdict"}` (or
//!   `{"response", "error"}`), the response plus every violation with its field path, for
//!   `podsec check` and tools.
//!
//! The module is built for `wasm32-unknown-unknown`, so its only imports are waPC's.

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod heap;
mod wapc;
pub use wapc::*;
