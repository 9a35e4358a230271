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
use serde_json::{Map, Value};
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
    /// Each field at fault that an `exemptions` entry let through, with the entry's index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempted: Option<Vec<Violation>>,
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
    /// The object's containers, when [`Options::containers`] asked for them and something
    /// failed or was exempted (not part of the JSON rows).
    #[serde(skip)]
    pub containers: Vec<ContainerRef>,
    /// Where a document that could not be read goes wrong: line…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_line: Option<usize>,
    /// …and column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_column: Option<usize>,
}

/// One container of an object: where it is, its name and image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerRef {
    /// Its field path in the object, e.g. `spec.template.spec.containers[1]`.
    pub path: String,
    /// `name`.
    pub name: String,
    /// `image` (empty when not set).
    pub image: String,
}

/// The containers of a pod or of a workload's pod template, in PSA's order.
pub fn containers_of(object: &Value) -> Vec<ContainerRef> {
    let mut out = Vec::new();
    for spec_path in [
        "spec",
        "spec.template.spec",
        "spec.jobTemplate.spec.template.spec",
    ] {
        let spec = spec_path
            .split('.')
            .try_fold(object, |value, key| value.get(key));
        let Some(spec) = spec else { continue };
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            let Some(Value::Array(items)) = spec.get(list) else {
                continue;
            };
            for (index, item) in items.iter().enumerate() {
                let text = |key: &str| {
                    item.get(key)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                out.push(ContainerRef {
                    path: format!("{spec_path}.{list}[{index}]"),
                    name: text("name"),
                    image: text("image"),
                });
            }
        }
        if !out.is_empty() {
            break;
        }
    }
    out
}

/// The container a violation's field belongs to: a field below it, or its seccomp or
/// AppArmor annotation.
fn owner<'c>(containers: &'c [ContainerRef], path: &str) -> Option<&'c ContainerRef> {
    containers
        .iter()
        .find(|c| crate::exemptions::belongs_to(path, &c.path, &c.name))
}

/// The narrowest `exemptions` entries (the list form) under which every violation of
/// `results` passes: one per check and scope, where the scope is the container's image
/// (its name when it has no image) or, for a field of the pod, every image of the pod; the
/// namespace when the object has one; and the values, when every field has one. The
/// results must come from [`Options::containers`].
pub fn generate_exemptions(results: &[ObjectResult]) -> Vec<Value> {
    use std::collections::BTreeSet;
    // (check, images, containers, namespace) -> (values, a field without a value)
    type Scope = (String, BTreeSet<String>, BTreeSet<String>, Option<String>);
    let mut entries: BTreeMap<Scope, (BTreeSet<String>, bool)> = BTreeMap::new();
    for result in results {
        for violation in result.violations.iter().flatten() {
            let path = violation.path.as_str();
            let (images, names): (BTreeSet<String>, BTreeSet<String>) =
                match owner(&result.containers, path) {
                    Some(c) if !c.image.is_empty() => ([c.image.clone()].into(), BTreeSet::new()),
                    Some(c) => (BTreeSet::new(), [c.name.clone()].into()),
                    None if result.containers.iter().all(|c| !c.image.is_empty()) => (
                        result.containers.iter().map(|c| c.image.clone()).collect(),
                        BTreeSet::new(),
                    ),
                    None => (
                        BTreeSet::new(),
                        result.containers.iter().map(|c| c.name.clone()).collect(),
                    ),
                };
            let scope = (
                violation.check.as_str().to_owned(),
                images,
                names,
                result.namespace.clone(),
            );
            let entry = entries.entry(scope).or_default();
            match crate::exemptions::value_text(&violation.value) {
                Some(text) => {
                    entry.0.insert(text.into_owned());
                }
                None => entry.1 = true,
            }
        }
    }
    entries
        .into_iter()
        .map(|((check, images, names, namespace), (values, unvalued))| {
            let mut entry = Map::new();
            entry.insert("checks".to_owned(), Value::from(vec![check]));
            if !images.is_empty() {
                entry.insert("images".to_owned(), Value::from_iter(images));
            }
            if !names.is_empty() {
                entry.insert("containers".to_owned(), Value::from_iter(names));
            }
            if let Some(namespace) = namespace {
                entry.insert("namespaces".to_owned(), Value::from(vec![namespace]));
            }
            if !unvalued && !values.is_empty() {
                entry.insert("values".to_owned(), Value::from_iter(values));
            }
            Value::Object(entry)
        })
        .collect()
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

/// Counts over all results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Results in all.
    pub objects: usize,
    /// Evaluated and allowed.
    pub allowed: usize,
    /// Denied.
    pub denied: usize,
    /// Not evaluated: kinds podsec does not evaluate, exemptions, files that are not
    /// Kubernetes objects.
    pub skipped: usize,
    /// Not evaluated because of an error.
    pub errors: usize,
}

impl Summary {
    /// Counts `results`.
    pub fn of(results: &[ObjectResult]) -> Summary {
        let mut summary = Summary {
            objects: results.len(),
            ..Summary::default()
        };
        for result in results {
            match outcome(result) {
                Outcome::Allowed => summary.allowed = summary.allowed.saturating_add(1),
                Outcome::Denied => summary.denied = summary.denied.saturating_add(1),
                Outcome::Skipped => summary.skipped = summary.skipped.saturating_add(1),
                Outcome::Error => summary.errors = summary.errors.saturating_add(1),
            }
        }
        summary
    }
}

/// Compliance at a glance: for each check, the objects that fail it and their namespaces;
/// for each namespace, its counts; and the exempted objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overview {
    /// One row per check that any object fails, most failing objects first.
    pub checks: Vec<CheckRow>,
    /// One row per namespace (objects without one under `""`), by name.
    pub namespaces: Vec<NamespaceRow>,
    /// The objects an exemption skipped: `Kind namespace/name: why`.
    pub exempted: Vec<String>,
    /// With a preset, one row per control of the initiative it stands for (Azure Policy's
    /// compliance view): compliant and non-compliant objects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<ControlRow>,
}

/// One control of a preset's initiative.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlRow {
    /// The control's name in the initiative.
    pub control: String,
    /// The checks (and, for host namespaces, the fields) it stands for.
    pub checks: Vec<String>,
    /// Evaluated objects that pass it.
    pub compliant: usize,
    /// Evaluated objects that fail it.
    pub non_compliant: usize,
    /// The namespaces of those that fail it.
    pub namespaces: Vec<String>,
}

/// The controls of Azure Policy's initiative "Kubernetes cluster pod security baseline
/// standards for Linux-based workloads", each with the checks it stands for and, where a
/// control takes part of a check, the field names it takes (`hostNetwork` of
/// `hostNamespaces`).
const AZURE_BASELINE_CONTROLS: [(&str, &str, &[&str]); 6] = [
    (
        "Kubernetes cluster should not allow privileged containers",
        "privileged",
        &[],
    ),
    (
        "Kubernetes cluster pods should only use approved host network and port range",
        "hostNamespaces",
        &["hostNetwork"],
    ),
    (
        "Kubernetes cluster pods should only use approved host network and port range",
        "hostPorts",
        &[],
    ),
    (
        "Kubernetes cluster containers should not share host process ID or host IPC namespace",
        "hostNamespaces",
        &["hostPID", "hostIPC"],
    ),
    (
        "Kubernetes cluster containers should only use allowed capabilities",
        "capabilities_baseline",
        &[],
    ),
    (
        "Kubernetes cluster pod hostPath volumes should only use allowed host paths",
        "hostPathVolumes",
        &[],
    ),
];

/// The preset's controls over `results`.
fn control_rows(results: &[ObjectResult]) -> Vec<ControlRow> {
    let mut rows: Vec<ControlRow> = Vec::new();
    let mut failing: Vec<std::collections::BTreeSet<usize>> = Vec::new();
    for (control, check, fields) in AZURE_BASELINE_CONTROLS {
        let label = if fields.is_empty() {
            check.to_owned()
        } else {
            format!("{check} ({})", fields.join(", "))
        };
        match rows.iter().position(|r| r.control == control) {
            Some(at) => {
                if let Some(row) = rows.get_mut(at) {
                    row.checks.push(label);
                }
            }
            None => {
                rows.push(ControlRow {
                    control: control.to_owned(),
                    checks: vec![label],
                    ..ControlRow::default()
                });
                failing.push(std::collections::BTreeSet::new());
            }
        }
    }
    let evaluated: Vec<(usize, &ObjectResult)> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            matches!(outcome(r), Outcome::Allowed | Outcome::Denied) && r.skipped.is_none()
        })
        .collect();
    for &(index, result) in &evaluated {
        for violation in result.violations.iter().flatten() {
            let field = violation.path.as_str().rsplit('.').next().unwrap_or("");
            let control = AZURE_BASELINE_CONTROLS.iter().find(|(_, check, fields)| {
                violation.check.as_str() == *check && (fields.is_empty() || fields.contains(&field))
            });
            if let Some((control, _, _)) = control {
                if let Some(at) = rows.iter().position(|r| r.control == *control) {
                    if let Some(set) = failing.get_mut(at) {
                        set.insert(index);
                    }
                }
            }
        }
    }
    for (row, set) in rows.iter_mut().zip(&failing) {
        row.non_compliant = set.len();
        row.compliant = evaluated.len().saturating_sub(set.len());
        let namespaces: std::collections::BTreeSet<String> = set
            .iter()
            .filter_map(|&i| results.get(i))
            .map(|r| r.namespace.clone().unwrap_or_default())
            .collect();
        row.namespaces = namespaces.into_iter().collect();
    }
    rows
}

/// The objects that fail one check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckRow {
    /// The check's id.
    pub check: String,
    /// The level it belongs to.
    pub level: String,
    /// How many objects fail it (denied, or warned under `effect: audit` or a warn label).
    pub non_compliant: usize,
    /// The namespaces they are in.
    pub namespaces: Vec<String>,
    /// The objects, as `Kind namespace/name`.
    pub objects: Vec<String>,
    /// How many objects an `exemptions` entry lets through on this check.
    pub exempted: usize,
}

/// One namespace's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceRow {
    /// The namespace (`""` for cluster-scoped objects and unreadable documents).
    pub namespace: String,
    /// Evaluated and allowed.
    pub allowed: usize,
    /// Denied.
    pub denied: usize,
    /// Skipped.
    pub skipped: usize,
    /// Errors.
    pub errors: usize,
    /// Objects that fail at least one check.
    pub non_compliant: usize,
}

impl Overview {
    /// The overview of `results` judged under `settings`: with a preset, its controls too.
    pub fn with_settings(results: &[ObjectResult], settings: Option<&crate::Settings>) -> Overview {
        let mut overview = Overview::of(results);
        if settings.and_then(|s| s.preset) == Some(crate::settings::Preset::AzureBaseline) {
            overview.controls = control_rows(results);
        }
        overview
    }

    /// The overview of `results`.
    pub fn of(results: &[ObjectResult]) -> Overview {
        use std::collections::{BTreeMap, BTreeSet};
        // check -> (level, namespaces of failing objects, failing objects, exempted objects)
        type Row = (&'static str, BTreeSet<String>, Vec<String>, usize);
        let mut checks: BTreeMap<String, Row> = BTreeMap::new();
        let mut namespaces: BTreeMap<String, NamespaceRow> = BTreeMap::new();
        let mut exempted = Vec::new();
        for result in results {
            let namespace = result.namespace.clone().unwrap_or_default();
            let row = namespaces
                .entry(namespace.clone())
                .or_insert_with(|| NamespaceRow {
                    namespace: namespace.clone(),
                    ..NamespaceRow::default()
                });
            match outcome(result) {
                Outcome::Allowed => row.allowed = row.allowed.saturating_add(1),
                Outcome::Denied => row.denied = row.denied.saturating_add(1),
                Outcome::Skipped => row.skipped = row.skipped.saturating_add(1),
                Outcome::Error => row.errors = row.errors.saturating_add(1),
            }
            let by_check = |rows: &Option<Vec<Violation>>| -> BTreeMap<&'static str, &'static str> {
                rows.iter()
                    .flatten()
                    .map(|v| (v.check.as_str(), v.check.info().level.as_str()))
                    .collect()
            };
            let failed = by_check(&result.violations);
            if !failed.is_empty() {
                row.non_compliant = row.non_compliant.saturating_add(1);
            }
            for (check, level) in failed {
                let entry = checks
                    .entry(check.to_owned())
                    .or_insert_with(|| (level, BTreeSet::new(), Vec::new(), 0));
                entry.1.insert(namespace.clone());
                entry.2.push(object_name(result));
            }
            for (check, level) in by_check(&result.exempted) {
                let entry = checks
                    .entry(check.to_owned())
                    .or_insert_with(|| (level, BTreeSet::new(), Vec::new(), 0));
                entry.3 = entry.3.saturating_add(1);
            }
            if let Some(why) = result
                .skipped
                .as_deref()
                .filter(|w| w.starts_with("exempt"))
            {
                exempted.push(format!("{}: {why}", object_name(result)));
            }
        }
        let mut checks: Vec<CheckRow> = checks
            .into_iter()
            .map(|(check, (level, namespaces, objects, exempted))| CheckRow {
                level: level.to_owned(),
                non_compliant: objects.len(),
                namespaces: namespaces.into_iter().collect(),
                objects,
                check,
                exempted,
            })
            .collect();
        checks.sort_by(|a, b| {
            b.non_compliant
                .cmp(&a.non_compliant)
                .then(b.exempted.cmp(&a.exempted))
                .then(a.check.cmp(&b.check))
        });
        Overview {
            checks,
            namespaces: namespaces.into_values().collect(),
            exempted,
            controls: Vec::new(),
        }
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
    /// Whether a result with violations records its containers ([`ObjectResult::containers`],
    /// what [`generate_exemptions`] reads).
    pub containers: bool,
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
                let mut exempted = verdict.exemptions();
                let any = !violations.is_empty() || !exempted.is_empty();
                if let Some(locator) = located.locator(any) {
                    for violation in violations.iter_mut().chain(exempted.iter_mut()) {
                        let full = violation.path.under(&prefix);
                        if let Some(at) = locator.locate(base.document, &full) {
                            violation.locate_at(at);
                        }
                    }
                }
                if !exempted.is_empty() {
                    result.exempted = Some(exempted);
                }
                if options.containers && any {
                    let object = request.get("request").and_then(|r| r.get("object"));
                    result.containers = object.map(containers_of).unwrap_or_default();
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
