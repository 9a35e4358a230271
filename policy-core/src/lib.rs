//! podsec's policy core: the Kubernetes [Pod Security Standards] as upstream
//! [Pod Security Admission] (PSA) enforces them, check by check and version by version, plus
//! the settings podsec adds on top (exemptions, scoping, capability and host-path lists, an
//! audit effect and the `azure-baseline` preset).
//!
//! The crate is pure: no I/O, no wasm, no global state. Input is the JSON a Kubewarden host
//! sends (a `ValidationRequest`), output is a [`ValidationResponse`] plus a machine-readable
//! [`Verdict`]. Bad input is always an error value with a message, never a panic.
//!
//! [Pod Security Standards]: https://kubernetes.io/docs/concepts/security/pod-security-standards/
//! [Pod Security Admission]: https://kubernetes.io/docs/concepts/security/pod-security-admission/

// An admission policy that panics takes every pod in the cluster with it; these lints keep
// every failure an error value.
#![forbid(unsafe_code)]
// A panic in the guest is a trap in the host: use `?` and error values.
#![deny(clippy::unwrap_used)]
// Same reason as unwrap: an expect on input data is a crash waiting for the right input.
#![deny(clippy::expect_used)]
// Explicit panics are never the answer to bad input.
#![deny(clippy::panic)]
// `v[i]` panics on a short list; input lists are as long as the user wrote them.
#![deny(clippy::indexing_slicing)]
// Overflow on attacker-controlled numbers must be impossible, not merely unlikely.
#![deny(clippy::arithmetic_side_effects)]
#![warn(missing_docs)]

mod admission;
#[cfg(feature = "yaml")]
pub mod audit;
pub mod catalog;
pub mod checks;
pub mod cluster;
mod deser;
#[cfg(feature = "yaml")]
pub mod documents;
pub mod error;
pub mod evaluate;
pub mod exemptions;
pub mod field_path;
pub mod fix;
mod json_path;
pub mod level;
pub mod limits;
#[cfg(feature = "yaml")]
pub mod locate;
pub mod manifest;
pub mod namespace_policy;
pub mod pod;
#[cfg(feature = "yaml")]
pub mod reports;
pub mod request;
pub mod response;
#[cfg(feature = "yaml")]
pub mod rewrite;
pub mod selector;
pub mod settings;
mod update;
pub mod workload;

pub use checks::CheckId;
pub use error::Error;
pub use evaluate::{
    evaluate, evaluate_with, validate, validate_settings, validate_with, Evaluation,
};
pub use field_path::FieldPath;
pub use level::{Level, PolicyVersion, LATEST_MINOR};
pub use response::{SettingsValidationResponse, ValidationResponse, Verdict, Violation};
pub use settings::Settings;

/// The version of this engine, shown by the CLI and the playground.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
