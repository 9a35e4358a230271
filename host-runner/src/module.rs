//! The policy module's operations, typed: what `podsec` calls through the sandbox. The
//! answers are read straight into policy-core's types, the ones the module writes.
//!
//! Works with podsec's own module (which also answers `evaluate`, with field-level
//! violations) and with any Kubewarden waPC policy (which answers `validate` only). Which
//! of the two a module is, is found out once, when it is loaded.

use crate::runtime::{CallError, HostCluster, Policy, SandboxConfig};
use anyhow::{Context as _, Result};
use policy_core::response::EvaluateAnswer;
pub use policy_core::{SettingsValidationResponse, ValidationResponse};
use serde_json::Value;
use std::path::Path;

/// podsec's policy module, built from this workspace and embedded at compile time.
pub const EMBEDDED_MODULE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/podsec.wasm"));

/// The request `load` sends to `evaluate` to learn whether the module answers it. podsec's
/// module answers it with an error value (it is no ValidationRequest); a module without the
/// operation answers with a waPC error.
const EVALUATE_PROBE: &[u8] = b"{}";

/// A loaded policy module.
pub struct PolicyModule {
    policy: Policy,
    /// Whether this is podsec's own module (embedded), not one given by path.
    builtin: bool,
    /// Whether the module answers podsec's `evaluate` operation (probed at load).
    has_evaluate: bool,
}

impl PolicyModule {
    /// Loads the module at `path`, or the embedded podsec module when `path` is `None`,
    /// and probes once which operations it answers.
    pub fn load(path: Option<&Path>, config: SandboxConfig) -> Result<PolicyModule> {
        let bytes = match path {
            Some(path) => std::fs::read(path)
                .with_context(|| format!("cannot read the policy module {}", path.display()))?,
            None => EMBEDDED_MODULE.to_vec(),
        };
        let policy = Policy::load(&bytes, config).with_context(|| match path {
            Some(path) => format!("cannot load the policy module {}", path.display()),
            None => "cannot load the embedded policy module".to_owned(),
        })?;
        let has_evaluate = policy
            .call("evaluate", EVALUATE_PROBE)
            .ok()
            .is_some_and(|answer| parse_evaluation(&answer).is_ok());
        Ok(PolicyModule {
            policy,
            builtin: path.is_none(),
            has_evaluate,
        })
    }

    /// Whether this is podsec's own module, whose evaluation time is bounded by the size
    /// of the request (it reads every request in one linear pass), rather than a module
    /// given by path, which may take up to the sandbox's deadline.
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    /// Whether the module answers `evaluate` (podsec's verdict with field paths).
    pub fn has_evaluate(&self) -> bool {
        self.has_evaluate
    }

    /// The sandbox underneath.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Runs the module's `validate_settings`: its answer, or why it could not answer.
    pub fn validate_settings(
        &self,
        settings: &Value,
    ) -> Result<SettingsValidationResponse, CallError> {
        let payload = serde_json::to_vec(settings)
            .map_err(|e| CallError::Protocol(format!("the settings do not serialise: {e}")))?;
        let answer = self.policy.call("validate_settings", &payload)?;
        serde_json::from_slice(&answer).map_err(|e| {
            CallError::Protocol(format!(
                "the answer to validate_settings is not {{valid, message}} ({e}): {}",
                preview(&answer)
            ))
        })
    }

    /// Runs `validate` on a `ValidationRequest`.
    pub fn validate(&self, request: &[u8]) -> Result<ValidationResponse, CallError> {
        self.validate_with(request, None)
    }

    /// Runs `validate`, with `cluster` answering the module's Kubernetes host calls.
    pub fn validate_with(
        &self,
        request: &[u8],
        cluster: Option<HostCluster>,
    ) -> Result<ValidationResponse, CallError> {
        let answer = self.policy.call_with("validate", request, cluster)?;
        serde_json::from_slice(&answer).map_err(|e| {
            CallError::Protocol(format!(
                "the answer is not a ValidationResponse ({e}): {}",
                preview(&answer)
            ))
        })
    }

    /// Evaluates a `ValidationRequest`: podsec's `evaluate` where the module has it (the
    /// verdict with every violation), else `validate` (the response alone).
    pub fn evaluate(&self, request: &[u8]) -> Result<EvaluateAnswer, CallError> {
        self.evaluate_with(request, None)
    }

    /// [`PolicyModule::evaluate`], with `cluster` answering the module's host calls.
    pub fn evaluate_with(
        &self,
        request: &[u8],
        cluster: Option<HostCluster>,
    ) -> Result<EvaluateAnswer, CallError> {
        if self.has_evaluate {
            let answer = self.policy.call_with("evaluate", request, cluster)?;
            return parse_evaluation(&answer);
        }
        Ok(EvaluateAnswer {
            response: self.validate_with(request, cluster)?,
            verdict: None,
            error: None,
        })
    }
}

fn parse_evaluation(bytes: &[u8]) -> Result<EvaluateAnswer, CallError> {
    serde_json::from_slice(bytes).map_err(|e| {
        CallError::Protocol(format!(
            "the answer to evaluate is not {{response, verdict}} ({e}): {}",
            preview(bytes)
        ))
    })
}

/// The start of an answer, for error messages.
fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut preview: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        preview.push('…');
    }
    format!("{preview:?}")
}

/// `podsec check` judges documents through the sandboxed module.
impl policy_core::audit::Evaluator for PolicyModule {
    fn evaluate(&self, request: &[u8]) -> Result<EvaluateAnswer, String> {
        PolicyModule::evaluate(self, request).map_err(|e| e.to_string())
    }
}

/// The module with a cluster answering its host calls: `podsec check` in the
/// namespace-labels mode, answering from the Namespaces of its input.
pub struct InCluster<'m> {
    /// The module.
    pub module: &'m PolicyModule,
    /// Who answers the module's host calls.
    pub cluster: HostCluster,
}

impl policy_core::audit::Evaluator for InCluster<'_> {
    fn evaluate(&self, request: &[u8]) -> Result<EvaluateAnswer, String> {
        self.module
            .evaluate_with(request, Some(self.cluster.clone()))
            .map_err(|e| e.to_string())
    }
}
