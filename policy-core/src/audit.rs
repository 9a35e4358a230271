//! Judging the documents a person has (manifest files, `kubectl get -o yaml` output, the
//! playground's editor): every object in a text becomes one [`ObjectResult`] row, by one
//! loop that `podsec check` runs over the sandboxed module and the playground over the
//! native engine, so both give the same rows and the same errors. Needs the `yaml` feature.

use crate::cluster::{Cluster, Snapshot};
use crate::documents::{parse_documents, Document};
use crate::locate::Locator;
use crate::manifest::{documents, identity, located_documents, request_for, Document as Manifest};
use crate::response::{EvaluateAnswer, Violation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Something that decides Kubewarden `ValidationRequest`s.
pub trait Evaluator {
    /// Decides one request; `Err` says why the evaluator could not answer at all (a
    /// sandbox limit, a broken module), as opposed to an answer that carries an error.
    fn evaluate(&self, request: &[u8]) -> Result<EvaluateAnswer, String>;
}

/// policy-core itself, called directly: the playground's evaluator, and the reference the
/// module is tested against.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeEngine;

impl Evaluator for NativeEngine {
    fn evaluate(&self, request: &[u8]) -> Result<EvaluateAnswer, String> {
        Ok(EvaluateAnswer::from_result(crate::evaluate(request)))
    }
}

/// policy-core called directly, with `cluster` answering the namespace-labels mode's
/// questions: the playground's evaluator when its settings turn that mode on.
#[derive(Debug, Clone, Copy)]
pub struct NativeInCluster<'c, C: Cluster>(pub &'c C);

impl<C: Cluster> Evaluator for NativeInCluster<'_, C> {
    fn evaluate(&self, request: &[u8]) -> Result<EvaluateAnswer, String> {
        Ok(EvaluateAnswer::from_result(crate::evaluate_with(
            request, self.0,
        )))
    }
}

/// Adds the Namespaces and Pods of `text` (any stream [`check_text`] reads) to `cluster`:
/// the cluster a set of manifests describes, for the namespace-labels mode. Documents that
/// cannot be read are left out here; [`check_text`] reports them.
pub fn gather(cluster: &mut Snapshot, source: &str, text: &str) {
    for document in parse_documents(source, text) {
        let Ok(value) = document.content else {
            continue;
        };
        for manifest in documents(value) {
            if let Manifest::Object(object) = manifest {
                cluster.add(&object);
            }
        }
    }
}

/// One object's result: `podsec check --format json`'s rows and the playground's.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectResult {
    /// The file (`-` for standard input).
    pub source: String,
    /// The document's index in the file.
    pub document: usize,
    /// The line the document starts on.
    pub line: usize,
    /// The object's kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The verdict (absent when the document could not be evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    /// The denial message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Warnings (the audit effect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// Each field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<Violation>>,
    /// Why the checks did not run (a kind podsec does not evaluate, an exemption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// In the namespace-labels mode, the policy of the object's namespace
    /// (`enforce=baseline:latest, audit=restricted:latest, warn=restricted:latest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The audit annotations the answer carries (`enforce-policy`, `audit-violations`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Why the document could not be evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Where a document that could not be read goes wrong: line…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_line: Option<usize>,
    /// …and column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_column: Option<usize>,
}

/// Whether violations are located in the text (line and column), which the playground
/// shows and a plain `podsec check` does not need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locate {
    /// Give each violation its line and column.
    Yes,
    /// Leave violations unlocated (faster).
    No,
}

/// Judges every object in `text`, read from `source`, under `settings`.
pub fn check_text(
    evaluator: &impl Evaluator,
    settings: &Value,
    source: &str,
    text: &str,
    locate: Locate,
) -> Vec<ObjectResult> {
    let mut results = Vec::new();
    for document in parse_documents(source, text) {
        let locator = match locate {
            Locate::Yes => {
                let start = document.offset_in(text);
                Locator::new(text.get(start..).unwrap_or(""), document.line)
            }
            Locate::No => None,
        };
        check_document(
            evaluator,
            settings,
            document,
            locator.as_ref(),
            &mut results,
        );
    }
    results
}

/// The row for an input that could not be read at all.
pub fn unreadable(source: &str, error: String) -> ObjectResult {
    ObjectResult {
        source: source.to_owned(),
        line: 1,
        error: Some(error),
        ..ObjectResult::default()
    }
}

/// Judges every object one parsed document holds (a `List` holds many), appending a row
/// each to `results`; a document that could not be read is one row with its error.
pub fn check_document(
    evaluator: &impl Evaluator,
    settings: &Value,
    document: Document,
    locator: Option<&Locator>,
    results: &mut Vec<ObjectResult>,
) {
    let base = ObjectResult {
        source: document.source,
        document: document.index,
        line: document.line,
        ..ObjectResult::default()
    };
    let value = match document.content {
        Ok(value) => value,
        Err(error) => {
            results.push(ObjectResult {
                error: Some(error),
                error_line: document.error_at.map(|(line, _)| line),
                error_column: document.error_at.map(|(_, column)| column),
                ..base
            });
            return;
        }
    };
    for (prefix, object) in located_documents(value) {
        let who = identity(&object);
        let mut result = ObjectResult {
            kind: who.kind,
            namespace: who.namespace,
            name: who.name,
            ..base.clone()
        };
        let request = request_for(object, settings);
        let answer = serde_json::to_vec(&request)
            .map_err(|e| e.to_string())
            .and_then(|bytes| evaluator.evaluate(&bytes));
        match answer {
            Err(error) => result.error = Some(error),
            Ok(EvaluateAnswer {
                error: Some(error), ..
            }) => result.error = Some(error),
            Ok(EvaluateAnswer {
                response, verdict, ..
            }) => {
                let verdict = verdict.unwrap_or_default();
                let mut violations = verdict.violations();
                if let Some(locator) = locator {
                    for violation in &mut violations {
                        let full = violation.path.under(&prefix);
                        if let Some(at) = locator.locate(base.document, &full) {
                            violation.locate_at(at);
                        }
                    }
                }
                result.allowed = Some(response.accepted);
                result.message = response.message;
                result.warnings = Some(response.warnings.unwrap_or_default());
                result.violations = Some(violations);
                result.skipped = verdict.skipped;
                result.policy = verdict.policy;
                result.annotations = response.audit_annotations.filter(|a| !a.is_empty());
            }
        }
        results.push(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_round_trip_through_json() {
        let text = "kind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  containers: [{name: c}]\n---\nkind: Pod\nspec: [\n";
        let rows = check_text(&NativeEngine, &json!({}), "f.yaml", text, Locate::Yes);
        assert_eq!(rows.len(), 2);
        let violation = &rows[0].violations.as_ref().unwrap()[0];
        assert_eq!(violation.path, "spec.hostPID");
        assert_eq!((violation.line, violation.exact), (Some(4), Some(true)));
        assert!(rows[1].error.is_some() && rows[1].error_line.is_some());
        let json = serde_json::to_string(&rows).unwrap();
        let back: Vec<ObjectResult> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rows);
    }
}
