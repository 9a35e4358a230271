//! What podsec answers: Kubewarden's `ValidationResponse` and `SettingsValidationResponse`,
//! and the machine-readable [`Verdict`] behind them.

use crate::checks::Finding;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Kubewarden's answer to `validate`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ValidationResponse {
    /// Whether the request is admitted.
    pub accepted: bool,
    /// The denial (or error) message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The HTTP status code of a denial: 403 for a policy violation, 400 for bad input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Warnings returned to the client (the `audit` effect).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// Audit annotations (the `audit` effect).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    /// Always absent: podsec never mutates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutated_object: Option<Value>,
}

impl ValidationResponse {
    /// An admission without remarks.
    pub fn accept() -> ValidationResponse {
        ValidationResponse {
            accepted: true,
            ..ValidationResponse::default()
        }
    }

    /// A rejection with a message and a status code.
    pub fn reject(message: String, code: u16) -> ValidationResponse {
        ValidationResponse {
            accepted: false,
            message: Some(message),
            code: Some(code),
            ..ValidationResponse::default()
        }
    }
}

/// Kubewarden's answer to `validate_settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsValidationResponse {
    /// Whether the settings are valid.
    pub valid: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One field at fault, with the check that faults it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The check id, e.g. `privileged`.
    pub check: &'static str,
    /// The field path in the object, e.g. `spec.containers[0].securityContext.privileged`.
    pub path: String,
    /// The offending value (`null` where a required value is missing).
    pub value: Value,
    /// PSA's reason for the check, e.g. `privileged`.
    pub reason: String,
    /// PSA's detail for the check as a whole.
    pub detail: String,
}

impl Violation {
    /// One violation per field of a finding.
    pub fn from_finding(finding: &Finding) -> impl Iterator<Item = Violation> + '_ {
        finding.fields.iter().map(move |field| Violation {
            check: finding.check.as_str(),
            path: field.path.clone(),
            value: field.value.clone(),
            reason: finding.reason.clone(),
            detail: finding.detail.clone(),
        })
    }
}

/// The full outcome of evaluating one request.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Verdict {
    /// The object's kind, when the request names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The request's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the request is admitted.
    pub allowed: bool,
    /// The denial message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Warnings (the `audit` effect).
    pub warnings: Vec<String>,
    /// The failing checks in PSA's order, each with its reason, detail and fields.
    /// Serialized as `violations`: one entry per field at fault (see [`Verdict::violations`]),
    /// built only when the verdict is serialized, not on every `validate`.
    #[serde(rename = "violations", serialize_with = "serialize_violations")]
    pub findings: Vec<Finding>,
    /// Why the checks did not run, when they did not (an exemption, an operation or kind
    /// that is not evaluated, an insignificant update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl Verdict {
    /// Every field at fault, check by check in PSA's order.
    pub fn violations(&self) -> Vec<Violation> {
        self.findings
            .iter()
            .flat_map(Violation::from_finding)
            .collect()
    }
}

fn serialize_violations<S: serde::Serializer>(
    findings: &[Finding],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(findings.iter().flat_map(Violation::from_finding))
}
