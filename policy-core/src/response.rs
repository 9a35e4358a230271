//! What podsec answers: Kubewarden's `ValidationResponse` and `SettingsValidationResponse`,
//! and the machine-readable [`Verdict`] behind them.

use crate::checks::{Field, Finding};
use crate::exemptions::Exempted;
use crate::field_path::FieldPath;
use crate::{CheckId, Error};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Kubewarden's answer to `validate`. Hosts read other policies' answers into it too, so
/// every field but `accepted` may be absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ValidationResponse {
    /// Whether the request is admitted.
    pub accepted: bool,
    /// The denial (or error) message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The HTTP status code of a denial: 403 for a policy violation, 400 for bad input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Warnings returned to the client (the `audit` effect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// Audit annotations (the `audit` effect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    /// The fixed object, in the mutating mode (`mutate: true`) only; the host computes the
    /// patch. Other policies may set it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsValidationResponse {
    /// Whether the settings are valid.
    pub valid: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One field at fault, with the check that faults it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The check, serialised as PSA's id, e.g. `privileged`.
    pub check: CheckId,
    /// The field path in the object, e.g. `spec.containers[0].securityContext.privileged`.
    pub path: FieldPath,
    /// The offending value (`null` where a required value is missing).
    pub value: Value,
    /// PSA's reason for the check, e.g. `privileged`.
    pub reason: String,
    /// PSA's detail for the check as a whole.
    pub detail: String,
    /// Where the field is in the text the object was read from, when it was located:
    /// 1-based line…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// …and column (in characters)…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// …and whether the field itself exists (false: the line is its nearest parent's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<bool>,
    /// For an exempted field, the index of the `exemptions` entry that let it through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<usize>,
}

impl Violation {
    /// Records where the field was found in the text.
    pub fn locate_at(&mut self, at: Location) {
        self.line = Some(at.line);
        self.column = Some(at.column);
        self.exact = Some(at.exact);
    }
}

/// Where a field path points in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Whether the whole path exists; `false` when the field is missing (a required field
    /// left out) and the location is that of its nearest existing parent.
    pub exact: bool,
}

impl Violation {
    /// One violation per field of a finding.
    pub fn from_finding(finding: &Finding) -> impl Iterator<Item = Violation> + '_ {
        finding.fields.iter().map(move |field| Violation {
            check: finding.check,
            path: field.path.clone(),
            value: field.value.clone(),
            reason: finding.reason.to_string(),
            detail: finding.detail.clone(),
            line: None,
            column: None,
            exact: None,
            exemption: None,
        })
    }

    /// One violation per exempted field, naming the entry.
    pub fn from_exempted(exempted: &Exempted) -> impl Iterator<Item = Violation> + '_ {
        Violation::from_finding(&exempted.finding).map(|mut violation| {
            violation.exemption = Some(exempted.exemption);
            violation
        })
    }
}

/// The full outcome of evaluating one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Verdict {
    /// The object's kind, when the request names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The request's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the request is admitted.
    pub allowed: bool,
    /// The denial message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Warnings (the `audit` effect).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The failing checks in PSA's order, each with its reason, detail and fields.
    /// Serialized as `violations`: one entry per field at fault (see [`Verdict::violations`]),
    /// built only when the verdict is serialized, not on every `validate`.
    #[serde(
        rename = "violations",
        default,
        serialize_with = "serialize_violations",
        deserialize_with = "deserialize_findings"
    )]
    pub findings: Vec<Finding>,
    /// Why the checks did not run, when they did not (an exemption, an operation or kind
    /// that is not evaluated, an insignificant update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The fields at fault that an entry of `exemptions` (the list form) let through, each
    /// with the entry's index: reported as skipped, never dropped.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_exempted",
        deserialize_with = "deserialize_exempted"
    )]
    pub exempted: Vec<Exempted>,
    /// In the namespace-labels mode, the namespace's policy:
    /// `enforce=baseline:latest, audit=restricted:latest, warn=restricted:latest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

impl Verdict {
    /// Every field at fault, check by check in PSA's order.
    pub fn violations(&self) -> Vec<Violation> {
        self.findings
            .iter()
            .flat_map(Violation::from_finding)
            .collect()
    }

    /// Every exempted field, with the entry that let it through.
    pub fn exemptions(&self) -> Vec<Violation> {
        self.exempted
            .iter()
            .flat_map(Violation::from_exempted)
            .collect()
    }
}

fn serialize_exempted<S: serde::Serializer>(
    exempted: &[Exempted],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(exempted.iter().flat_map(Violation::from_exempted))
}

fn deserialize_exempted<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Exempted>, D::Error> {
    let violations = Vec::<Violation>::deserialize(deserializer)?;
    Ok(group_violations(violations)
        .into_iter()
        .map(|(exemption, finding)| Exempted {
            exemption: exemption.unwrap_or(0),
            finding,
        })
        .collect())
}

fn serialize_violations<S: serde::Serializer>(
    findings: &[Finding],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(findings.iter().flat_map(Violation::from_finding))
}

/// Reads `violations` back into findings, as [`serialize_violations`] wrote them.
fn deserialize_findings<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Finding>, D::Error> {
    let violations = Vec::<Violation>::deserialize(deserializer)?;
    Ok(group_violations(violations)
        .into_iter()
        .map(|(_, finding)| finding)
        .collect())
}

/// Violations back into findings: consecutive violations of one check with the same
/// reason, detail and exemption entry are the fields of one finding, as one finding's
/// fields are written one after another.
fn group_violations(violations: Vec<Violation>) -> Vec<(Option<usize>, Finding)> {
    let mut groups: Vec<(Option<usize>, Finding)> = Vec::new();
    for violation in violations {
        let field = Field {
            path: violation.path,
            value: violation.value,
        };
        match groups.last_mut() {
            Some((exemption, last))
                if *exemption == violation.exemption
                    && last.check == violation.check
                    && last.reason == violation.reason
                    && last.detail == violation.detail =>
            {
                last.fields.push(field);
            }
            _ => groups.push((
                violation.exemption,
                Finding {
                    check: violation.check,
                    reason: Cow::Owned(violation.reason),
                    detail: violation.detail,
                    fields: vec![field],
                },
            )),
        }
    }
    groups
}

/// What podsec's own `evaluate` operation answers: the response a host returns, plus the
/// verdict behind it, or the error that kept the request from being evaluated (the
/// response is then the rejection `validate` gives).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluateAnswer {
    /// What `validate` answers for the same request.
    pub response: ValidationResponse,
    /// The verdict, when the request was evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Why the request could not be evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl EvaluateAnswer {
    /// The answer for an evaluation's outcome.
    pub fn from_result(result: Result<crate::Evaluation, Error>) -> EvaluateAnswer {
        match result {
            Ok(evaluation) => EvaluateAnswer {
                response: evaluation.response,
                verdict: Some(evaluation.verdict),
                error: None,
            },
            Err(error) => EvaluateAnswer {
                response: crate::evaluate::rejection(&error),
                verdict: None,
                error: Some(error.to_string()),
            },
        }
    }
}
