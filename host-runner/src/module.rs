//! The policy module's operations, typed: what `podsec` calls through the sandbox.
//!
//! Works with podsec's own module (which also answers `evaluate`, with field-level
//! violations) and with any Kubewarden waPC policy (which answers `validate` only).

use crate::runtime::{CallError, Policy, SandboxConfig};
use anyhow::{anyhow, Context as _, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// podsec's policy module, built from this workspace and embedded at compile time.
pub const EMBEDDED_MODULE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/podsec.wasm"));

/// Kubewarden's `ValidationResponse`, as a host reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationResponse {
    /// Whether the request is admitted.
    pub accepted: bool,
    /// The denial message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The HTTP status code of a denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Warnings for the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// Audit annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    /// A mutated object (podsec never sets it; other policies may).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutated_object: Option<Value>,
}

/// The outcome of evaluating one request: the response and, from podsec's module, the
/// verdict with every violation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// What the policy answered.
    pub response: ValidationResponse,
    /// podsec's verdict (kind, name, violations with field paths), when the module has one.
    pub verdict: Option<Value>,
    /// Why the request could not be evaluated, when it could not.
    pub error: Option<String>,
}

/// A loaded policy module.
pub struct PolicyModule {
    policy: Policy,
    /// Whether this is podsec's own module (embedded), not one given by path.
    builtin: bool,
    /// Whether the module answers podsec's `evaluate` operation (until it is found not to).
    has_evaluate: AtomicBool,
}

impl PolicyModule {
    /// Loads the module at `path`, or the embedded podsec module when `path` is `None`.
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
        Ok(PolicyModule {
            policy,
            builtin: path.is_none(),
            has_evaluate: AtomicBool::new(true),
        })
    }

    /// Whether this is podsec's own module, whose evaluation time is bounded by the size
    /// of the request (it reads every request in one linear pass), rather than a module
    /// given by path, which may take up to the sandbox's deadline.
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    /// The sandbox underneath.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Runs the module's `validate_settings`; `Err` carries the module's message.
    pub fn validate_settings(&self, settings: &Value) -> Result<()> {
        let payload = serde_json::to_vec(settings)?;
        let answer = self.policy.call("validate_settings", &payload)?;
        #[derive(Deserialize)]
        struct SettingsAnswer {
            valid: bool,
            #[serde(default)]
            message: Option<String>,
        }
        let answer: SettingsAnswer = serde_json::from_slice(&answer)
            .map_err(|e| anyhow!("the policy answered validate_settings with something that is not {{valid, message}}: {e}"))?;
        if answer.valid {
            Ok(())
        } else {
            Err(anyhow!(
                "{}",
                answer
                    .message
                    .unwrap_or_else(|| "the policy rejected the settings".to_owned())
            ))
        }
    }

    /// Runs `validate` on a `ValidationRequest`.
    pub fn validate(&self, request: &[u8]) -> Result<ValidationResponse, CallError> {
        let answer = self.policy.call("validate", request)?;
        parse_response(&answer)
    }

    /// Evaluates a `ValidationRequest`, with podsec's verdict where the module gives one.
    pub fn evaluate(&self, request: &[u8]) -> Result<Outcome, CallError> {
        if self.has_evaluate.load(Ordering::Relaxed) {
            match self.policy.call("evaluate", request) {
                Ok(answer) => return parse_evaluation(&answer),
                // A module without `evaluate` answers with a waPC error: use `validate`.
                Err(CallError::Guest(_)) => self.has_evaluate.store(false, Ordering::Relaxed),
                Err(other) => return Err(other),
            }
        }
        let response = self.validate(request)?;
        Ok(Outcome {
            response,
            verdict: None,
            error: None,
        })
    }
}

fn parse_response(bytes: &[u8]) -> Result<ValidationResponse, CallError> {
    serde_json::from_slice(bytes).map_err(|e| {
        CallError::Protocol(format!(
            "the answer is not a ValidationResponse ({e}): {}",
            preview(bytes)
        ))
    })
}

fn parse_evaluation(bytes: &[u8]) -> Result<Outcome, CallError> {
    #[derive(Deserialize)]
    struct Evaluation {
        response: ValidationResponse,
        #[serde(default)]
        verdict: Option<Value>,
        #[serde(default)]
        error: Option<String>,
    }
    let evaluation: Evaluation = serde_json::from_slice(bytes).map_err(|e| {
        CallError::Protocol(format!(
            "the answer to evaluate is not {{response, verdict}} ({e}): {}",
            preview(bytes)
        ))
    })?;
    Ok(Outcome {
        response: evaluation.response,
        verdict: evaluation.verdict,
        error: evaluation.error,
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
