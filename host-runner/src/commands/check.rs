//! `podsec check`: judge manifests, folders or standard input, as the admission webhook
//! would judge them on CREATE. This is also the audit of existing workloads.

use super::{exit, PolicyArgs};
use crate::manifests::{expand_paths, read_text};
use crate::module::InCluster;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use policy_core::audit::{
    check_document, check_text, gather, unreadable, Evaluator, Locate, ObjectResult,
};
use policy_core::cluster::Snapshot;
use policy_core::documents::Document;
use serde::Serialize;
use serde_json::Value;
use std::io::Write as _;
use std::path::PathBuf;

/// Check manifests against the policy.
///
/// Reads multi-document YAML, JSON, `List` objects and AdmissionReviews, from files,
/// folders (recursively) or standard input (`-`). A plain manifest is judged as a CREATE
/// in its namespace (or `default`). Exit status: 0 all allowed, 1 any denied, 2 bad input
/// or settings.
///
/// Examples:
///   podsec check deploy/
///   podsec check --settings-json '{"level": "restricted"}' pod.yaml
///   kubectl get pods,deploy -A -o yaml | podsec check - --format json
///   kubectl get ns,pods,deploy -A -o yaml | podsec check - --settings-json '{"namespaceLabels": true}'
///   kubectl get ns,pods -A -o yaml | podsec check - --settings-json '{"namespaceLabels": true}' \
///     --namespace-label shop:pod-security.kubernetes.io/enforce=restricted
///
/// With `namespaceLabels` in the settings, each object is judged at its namespace's Pod
/// Security labels, read from the Namespace objects of the input (and --namespace-label).
#[derive(Debug, Args)]
pub struct Check {
    /// Files, folders, or `-` for standard input.
    #[arg(value_name = "PATH", default_value = "-")]
    pub paths: Vec<PathBuf>,
    /// With namespaceLabels: set a label of a namespace, as NAME:KEY=VALUE (repeatable).
    /// A namespace of the input whose enforce level this tightens also gets PSA's dry run:
    /// the warnings `kubectl label` would print for its pods.
    #[arg(long = "namespace-label", value_name = "NAME:KEY=VALUE")]
    pub namespace_labels: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// The module, its settings and the sandbox limits.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// How `check` prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per object, violations below it, a summary line.
    Human,
    /// One JSON document: `{"results": […], "summary": {…}}`.
    Json,
}

/// One object's result: policy-core's row.
pub type CheckResult = ObjectResult;

/// The `--format json` document.
#[derive(Debug, Serialize)]
pub struct Report<'r> {
    /// One result per object.
    pub results: &'r [CheckResult],
    /// The counts.
    pub summary: &'r Summary,
}

/// Counts over all results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Results in all.
    pub objects: usize,
    /// Allowed.
    pub allowed: usize,
    /// Denied.
    pub denied: usize,
    /// Not evaluated because of an error.
    pub errors: usize,
}

impl Summary {
    /// Counts `results`.
    pub fn of(results: &[CheckResult]) -> Summary {
        let mut summary = Summary {
            objects: results.len(),
            ..Summary::default()
        };
        for result in results {
            match result.allowed {
                Some(true) => summary.allowed += 1,
                Some(false) => summary.denied += 1,
                None => summary.errors += 1,
            }
        }
        summary
    }

    /// The exit status for these counts.
    pub fn exit_code(&self) -> u8 {
        if self.errors > 0 {
            exit::ERROR
        } else if self.denied > 0 {
            exit::DENIED
        } else {
            exit::ALLOWED
        }
    }
}

impl Check {
    /// Runs the subcommand; returns the exit status.
    pub fn execute(self) -> Result<u8> {
        let (module, settings) = self.policy.load()?;
        let files = expand_paths(&self.paths)?;
        let labelled =
            policy_core::Settings::from_value(&settings).is_ok_and(|s| s.namespace_labels);
        if !labelled && !self.namespace_labels.is_empty() {
            bail!("--namespace-label needs the namespace-labels mode: add \"namespaceLabels\": true to the settings");
        }
        let results = if labelled {
            let (cluster, dry_runs) = cluster_of(&files, &self.namespace_labels)?;
            let evaluator = InCluster {
                module: &module,
                cluster: std::sync::Arc::new(cluster),
            };
            let mut results = check_files(&evaluator, &settings, &files);
            for document in dry_runs {
                check_document(&evaluator, &settings, document, None, &mut results);
            }
            results
        } else {
            check_files(&module, &settings, &files)
        };
        let summary = Summary::of(&results);
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        match self.format {
            Format::Json => {
                let report = Report {
                    results: &results,
                    summary: &summary,
                };
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
            }
            Format::Human => print_human(&mut out, &results, &summary)?,
        }
        out.flush()?;
        Ok(summary.exit_code())
    }
}

/// Reads and judges `files` on every core (one file at a time per worker), keeping the
/// results in file order.
pub fn check_files(
    module: &(impl Evaluator + Sync),
    settings: &Value,
    files: &[PathBuf],
) -> Vec<CheckResult> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let per_file: Vec<std::sync::Mutex<Vec<CheckResult>>> = files
        .iter()
        .map(|_| std::sync::Mutex::new(Vec::new()))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(file) = files.get(index) else { break };
                let source = file.display().to_string();
                let results = match read_text(file) {
                    Ok(text) => check_text(module, settings, &source, &text, Locate::No),
                    Err(error) => vec![unreadable(&source, error)],
                };
                if let Some(slot) = per_file.get(index) {
                    if let Ok(mut slot) = slot.lock() {
                        *slot = results;
                    }
                }
            });
        }
    });
    per_file
        .into_iter()
        .flat_map(|slot| slot.into_inner().unwrap_or_default())
        .collect()
}

/// The cluster the input describes: its Namespaces and Pods, with the --namespace-label
/// changes applied; and, for each namespace of the input whose labels those change, the
/// Namespace UPDATE request that dry-runs the change (PSA's warnings for its pods).
fn cluster_of(files: &[PathBuf], changes: &[String]) -> Result<(Snapshot, Vec<Document>)> {
    let mut cluster = Snapshot::new();
    for file in files {
        if let Ok(text) = read_text(file) {
            gather(&mut cluster, &file.display().to_string(), &text);
        }
    }
    let before = cluster.clone();
    let mut changed: Vec<String> = Vec::new();
    for change in changes {
        let parsed = change
            .split_once(':')
            .and_then(|(name, label)| label.split_once('=').map(|(k, v)| (name, k, v)))
            .filter(|(name, key, _)| !name.is_empty() && !key.is_empty());
        let Some((name, key, value)) = parsed else {
            bail!("--namespace-label {change:?}: write NAME:KEY=VALUE, e.g. shop:pod-security.kubernetes.io/enforce=restricted");
        };
        cluster.set_label(name, key, value);
        if !changed.iter().any(|n| n == name) {
            changed.push(name.to_owned());
        }
    }
    let dry_runs = changed
        .iter()
        .filter_map(|name| {
            let old = before.namespace(name)?;
            let new = cluster.namespace(name)?;
            let request = serde_json::json!({
                "uid": format!("dry-run-{name}"),
                "kind": {"group": "", "version": "v1", "kind": "Namespace"},
                "resource": {"group": "", "version": "v1", "resource": "namespaces"},
                "operation": "UPDATE",
                "name": name,
                "namespace": name,
                "userInfo": {"username": ""},
                "object": new,
                "oldObject": old,
            });
            Some(Document {
                source: format!("--namespace-label {name}"),
                index: 0,
                line: 1,
                content: Ok(request),
                error_at: None,
            })
        })
        .collect();
    Ok((cluster, dry_runs))
}

/// The namespace-labels mode's audit annotations that say something about the object:
/// the audit level's violations and a policy that could not be read.
fn print_audit(out: &mut impl std::io::Write, result: &CheckResult) -> std::io::Result<()> {
    for (key, value) in result.annotations.iter().flatten() {
        if key == "audit-violations" || key == "error" {
            writeln!(out, "         audit {key}: {value}")?;
        }
    }
    Ok(())
}

fn print_human(
    out: &mut impl std::io::Write,
    results: &[CheckResult],
    summary: &Summary,
) -> std::io::Result<()> {
    for result in results {
        let object = format!(
            "{} {}/{}",
            result.kind.as_deref().unwrap_or("object"),
            result.namespace.as_deref().unwrap_or("-"),
            result.name.as_deref().unwrap_or("(unnamed)")
        );
        let place = format!("{}#{}", result.source, result.document);
        match (result.allowed, &result.error) {
            (_, Some(error)) => writeln!(out, "ERROR    {place}: {error}")?,
            (Some(false), _) => {
                writeln!(out, "DENIED   {object}  ({place})")?;
                if let Some(message) = &result.message {
                    writeln!(out, "         {message}")?;
                }
                for violation in result.violations.iter().flatten() {
                    let check = violation.check.as_str();
                    let path = &violation.path;
                    let value = &violation.value;
                    writeln!(out, "           {check:<28} {path} = {value}")?;
                }
                print_audit(out, result)?;
            }
            (Some(true), _) => {
                let note = match &result.skipped {
                    Some(why) => format!("  [not checked: {why}]"),
                    None => String::new(),
                };
                writeln!(out, "ALLOWED  {object}  ({place}){note}")?;
                for warning in result.warnings.iter().flatten() {
                    writeln!(out, "         warning: {warning}")?;
                }
                print_audit(out, result)?;
            }
            (None, None) => writeln!(out, "ERROR    {place}: no verdict")?,
        }
    }
    writeln!(
        out,
        "summary: {} objects: {} allowed, {} denied, {} errors",
        summary.objects, summary.allowed, summary.denied, summary.errors
    )
}
