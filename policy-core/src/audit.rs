//! Judging the documents a person has (manifest files, `kubectl get -o yaml` output, the
//! playground's editor): every object in a text becomes one [`ObjectResult`] row, by one
//! loop that `podsec check` runs over the sandboxed module and the playground over the
//! native engine, so both give the same rows and the same errors. Needs the `yaml` feature.

use crate::cluster::{Cluster, Snapshot};
use crate::documents::{parse_documents, Document};
use crate::locate::Locator;
use crate::manifest::{documents, identity, located_documents, request_for, Document as Manifest};
use crate::response::{EvaluateAnswer, Violation};
use crate::workload::ResourceKind;
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
    /// The object's apiVersion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The object's kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its uid, for an object read from a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Where it is in its document, for a `List`'s item (`items[3]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
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

/// What a result counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Evaluated and allowed.
    Allowed,
    /// Denied.
    Denied,
    /// Not evaluated.
    Skipped,
    /// Could not be evaluated.
    Error,
}

/// The outcome of one result.
pub fn outcome(result: &ObjectResult) -> Outcome {
    match (&result.error, result.allowed, &result.skipped) {
        (Some(_), _, _) => Outcome::Error,
        (None, Some(false), _) => Outcome::Denied,
        (None, _, Some(_)) => Outcome::Skipped,
        (None, Some(true), None) => Outcome::Allowed,
        (None, None, None) => Outcome::Error,
    }
}

/// `Kind namespace/name`, or `Kind name` for an object in no namespace.
pub fn object_name(result: &ObjectResult) -> String {
    let kind = result.kind.as_deref().unwrap_or("object");
    let name = result.name.as_deref().unwrap_or("(unnamed)");
    match &result.namespace {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// Whether violations are located in the text (line and column), which the playground
/// shows and a plain `podsec check` does not need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locate {
    /// Give each violation its line and column.
    Yes,
    /// Leave violations unlocated (faster).
    #[default]
    No,
}

/// How [`check_text`] judges what it reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// Whether violations get their line and column.
    pub locate: Locate,
    /// The namespace of namespaced objects that name none (kubectl's `-n`; else
    /// `default`).
    pub namespace: Option<String>,
    /// Objects that are probably a mistake ([`doubtful_object`]) are errors, not skipped.
    pub strict: bool,
}

impl Options {
    /// The options with violations located.
    pub fn located() -> Options {
        Options {
            locate: Locate::Yes,
            ..Options::default()
        }
    }
}

/// Why an object is not evaluated, when that is probably not what the person meant: it is
/// not a Kubernetes object at all, or a kind podsec evaluates under an API group the API
/// server does not match it in, or a misspelt kind. `--strict` makes these errors; other
/// kinds podsec does not evaluate (ConfigMap, Service, …) are plainly skipped.
pub fn doubtful_object(source: &str, object: &Value) -> Option<String> {
    let file = source.rsplit(['/', '\\']).next().unwrap_or(source);
    let kind = object.get("kind").and_then(Value::as_str);
    let api_version = object.get("apiVersion").and_then(Value::as_str);
    // A kind without an apiVersion is judged as the core group's (a snippet of a pod).
    let Some(kind) = kind else {
        let looks_like_chart = object.get("name").is_some() && object.get("version").is_some();
        return Some(match file {
            "Chart.yaml" | "Chart.yml" => "a Helm chart's Chart.yaml, not a Kubernetes object".to_owned(),
            _ if looks_like_chart && api_version.is_some() => {
                "a Helm chart's metadata, not a Kubernetes object".to_owned()
            }
            "values.yaml" | "values.yml" => {
                "Helm values, not a Kubernetes object: render the chart first (helm template CHART | podsec check -)".to_owned()
            }
            "kustomization.yaml" | "kustomization.yml" | "Kustomization" => {
                "a Kustomize kustomization, not a Kubernetes object: render it first (kubectl kustomize DIR | podsec check -)".to_owned()
            }
            _ if !object.is_object() => "not a Kubernetes object: not a mapping".to_owned(),
            _ => "not a Kubernetes object: it has no kind".to_owned(),
        });
    };
    let api_version = api_version.unwrap_or("v1");
    if matches!(
        file,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    ) || kind == "Kustomization"
    {
        return Some(
            "a Kustomize kustomization: render it first (kubectl kustomize DIR | podsec check -)"
                .to_owned(),
        );
    }
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    let evaluated = ResourceKind::ALL.iter().map(|(k, g)| (k.as_str(), *g));
    // Kubernetes' own groups have no dot (`apps`, `extensions`) or end in `.k8s.io`; a
    // custom resource that shares a kind's name (`example.com/v1 Deployment`) is not doubtful.
    let kubernetes_group = !group.contains('.') || group.ends_with(".k8s.io");
    for (name, home) in evaluated.clone() {
        if name == kind && home != group && kubernetes_group {
            let served = if home.is_empty() {
                "v1".to_owned()
            } else {
                format!("{home}/v1")
            };
            return Some(format!(
                "{api_version} {kind} is not evaluated: the API server matches a kind with its group, and podsec evaluates {kind} as {served}"
            ));
        }
    }
    if evaluated
        .clone()
        .any(|(name, home)| name == kind && home == group)
    {
        return None;
    }
    let lower = kind.to_ascii_lowercase();
    let near = evaluated.map(|(name, _)| name).find(|name| {
        let distance = edit_distance(&lower, &name.to_ascii_lowercase());
        let allowed = if name.len() <= 5 { 1 } else { 2 };
        distance <= allowed && !KINDS_NEAR_EVALUATED_ONES.contains(&kind)
    })?;
    Some(format!(
        "{api_version} {kind} is not a kind podsec evaluates: did you mean {near}?"
    ))
}

/// Kubernetes kinds that are a letter or two from a kind podsec evaluates, and are not
/// misspellings of it.
const KINDS_NEAR_EVALUATED_ONES: [&str; 3] = ["Node", "Jobs", "PodTemplates"];

/// Levenshtein distance over bytes (kind names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i.saturating_add(1);
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j.saturating_add(1)).copied().unwrap_or(usize::MAX);
            let left = row.get(j).copied().unwrap_or(usize::MAX);
            let cost = usize::from(ca != *cb);
            let value = diagonal
                .saturating_add(cost)
                .min(above.saturating_add(1))
                .min(left.saturating_add(1));
            diagonal = above;
            if let Some(cell) = row.get_mut(j.saturating_add(1)) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

/// Judges every object in `text`, read from `source`, under `settings`.
pub fn check_text(
    evaluator: &impl Evaluator,
    settings: &Value,
    source: &str,
    text: &str,
    options: &Options,
) -> Vec<ObjectResult> {
    let mut results = Vec::new();
    for document in parse_documents(source, text) {
        // The document's text is indexed only if one of its objects has a violation to
        // locate: most documents of a large input have none.
        let located = match options.locate {
            Locate::Yes => {
                let start = document.offset_in(text);
                DocumentText::new(text.get(start..).unwrap_or(""), document.line)
            }
            Locate::No => DocumentText::none(),
        };
        check_document(
            evaluator,
            settings,
            document,
            &located,
            options,
            &mut results,
        );
    }
    results
}

/// A document's text, for locating its violations: indexed (a [`Locator`]) the first time
/// a violation needs it, at most once.
pub struct DocumentText<'t> {
    text: Option<(&'t str, usize)>,
    index: std::cell::OnceCell<Option<Locator>>,
}

impl<'t> DocumentText<'t> {
    /// The text of a document starting on line `first_line` of its input.
    pub fn new(text: &'t str, first_line: usize) -> DocumentText<'t> {
        DocumentText {
            text: Some((text, first_line)),
            index: std::cell::OnceCell::new(),
        }
    }

    /// No text: violations stay unlocated.
    pub fn none() -> DocumentText<'static> {
        DocumentText {
            text: None,
            index: std::cell::OnceCell::new(),
        }
    }

    /// The index, built now if `needed` and not built yet.
    fn locator(&self, needed: bool) -> Option<&Locator> {
        let (text, first_line) = self.text?;
        if !needed && self.index.get().is_none() {
            return None;
        }
        self.index
            .get_or_init(|| Locator::new(text, first_line))
            .as_ref()
    }
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

/// Gives a namespaced object without a namespace `namespace` (`-n`).
fn set_namespace(object: &mut Value, namespace: &str) {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    if crate::manifest::is_cluster_scoped(kind) {
        return;
    }
    if let Some(Value::Object(meta)) = object.get_mut("metadata") {
        meta.entry("namespace")
            .or_insert_with(|| Value::String(namespace.to_owned()));
    } else if let Value::Object(fields) = object {
        fields.insert(
            "metadata".to_owned(),
            serde_json::json!({"namespace": namespace}),
        );
    }
}

/// Judges every object one parsed document holds (a `List` holds many), appending a row
/// each to `results`; a document that could not be read is one row with its error.
pub fn check_document(
    evaluator: &impl Evaluator,
    settings: &Value,
    document: Document,
    located: &DocumentText<'_>,
    options: &Options,
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
    for (prefix, mut object) in located_documents(value) {
        if let (Manifest::Object(fields), Some(namespace)) = (&mut object, &options.namespace) {
            set_namespace(fields, namespace);
        }
        let who = identity(&object);
        let item = prefix.to_string();
        let mut result = ObjectResult {
            api_version: who.api_version,
            kind: who.kind,
            namespace: who.namespace,
            name: who.name,
            uid: who.uid,
            item: item.starts_with("items[").then_some(item),
            ..base.clone()
        };
        if let Manifest::Object(fields) = &object {
            if let Some(reason) = doubtful_object(&base.source, fields) {
                if options.strict {
                    result.error = Some(format!("{reason} (--strict)"));
                } else {
                    // Skipped as the webhook would skip it: admitted, not evaluated.
                    result.allowed = Some(true);
                    result.skipped = Some(reason);
                }
                results.push(result);
                continue;
            }
        }
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
                if let Some(locator) = located.locator(!violations.is_empty()) {
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
        let rows = check_text(
            &NativeEngine,
            &json!({}),
            "f.yaml",
            text,
            &Options::located(),
        );
        assert_eq!(rows.len(), 2);
        let violation = &rows[0].violations.as_ref().unwrap()[0];
        assert_eq!(violation.path, "spec.hostPID");
        assert_eq!((violation.line, violation.exact), (Some(4), Some(true)));
        assert!(rows[1].error.is_some() && rows[1].error_line.is_some());
        let json = serde_json::to_string(&rows).unwrap();
        let back: Vec<ObjectResult> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rows);
    }

    #[test]
    fn doubtful_objects_say_why() {
        let reason = |source: &str, object: Value| doubtful_object(source, &object);
        assert!(reason(
            "chart/Chart.yaml",
            json!({"apiVersion": "v2", "name": "web", "version": "1.0.0"})
        )
        .unwrap()
        .contains("Chart.yaml"));
        assert!(reason("chart/values.yaml", json!({"replicaCount": 1}))
            .unwrap()
            .starts_with("Helm values"));
        assert!(
            reason("k/kustomization.yaml", json!({"resources": ["a.yaml"]}))
                .unwrap()
                .contains("kubectl kustomize")
        );
        assert_eq!(
            reason("x.yaml", json!({"foo": 1})).as_deref(),
            Some("not a Kubernetes object: it has no kind")
        );
        let old = reason(
            "ds.yaml",
            json!({"apiVersion": "extensions/v1beta1", "kind": "DaemonSet"}),
        )
        .unwrap();
        assert!(
            old.contains("podsec evaluates DaemonSet as apps/v1"),
            "{old}"
        );
        let typo = reason(
            "d.yaml",
            json!({"apiVersion": "apps/v1", "kind": "Deploymnet"}),
        )
        .unwrap();
        assert!(typo.ends_with("did you mean Deployment?"), "{typo}");
        assert!(reason("p.yaml", json!({"apiVersion": "v1", "kind": "pod"}))
            .unwrap()
            .ends_with("did you mean Pod?"));
        // Real kinds are not doubtful, evaluated or not.
        for (api_version, kind) in [
            ("v1", "Pod"),
            ("apps/v1beta2", "Deployment"),
            ("v1", "Node"),
            ("v1", "ConfigMap"),
            ("rbac.authorization.k8s.io/v1", "Role"),
            ("v1", "Service"),
            ("batch/v1", "Job"),
        ] {
            assert_eq!(
                reason("f.yaml", json!({"apiVersion": api_version, "kind": kind})),
                None,
                "{kind}"
            );
        }
        assert_eq!(
            reason("f.yaml", json!({"kind": "Pod"})),
            None,
            "a snippet without apiVersion"
        );
    }

    #[test]
    fn options_set_the_namespace_and_strict_makes_doubts_errors() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n---\napiVersion: extensions/v1beta1\nkind: DaemonSet\nmetadata: {name: d}\n";
        let options = Options {
            namespace: Some("shop".to_owned()),
            ..Options::default()
        };
        let rows = check_text(&NativeEngine, &json!({}), "f.yaml", text, &options);
        assert_eq!(rows[0].namespace.as_deref(), Some("shop"));
        assert_eq!(rows[1].namespace, None, "cluster-scoped");
        assert!(rows[2]
            .skipped
            .as_deref()
            .unwrap()
            .contains("extensions/v1beta1 DaemonSet"));
        let strict = Options {
            strict: true,
            ..options
        };
        let rows = check_text(&NativeEngine, &json!({}), "f.yaml", text, &strict);
        assert!(rows[2].error.as_deref().unwrap().ends_with("(--strict)"));
        assert!(rows[1].error.is_none(), "a ClusterRole is plainly skipped");
        let list = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {hostPID: true, containers: [{name: c, image: x}]}}\n";
        let rows = check_text(
            &NativeEngine,
            &json!({}),
            "l.yaml",
            list,
            &Options::default(),
        );
        assert_eq!(rows[1].item.as_deref(), Some("items[1]"));
        assert_eq!(rows[1].allowed, Some(false));
    }
}
