//! `podsec check`: judge manifests, folders or standard input, as the admission webhook
//! would judge them on CREATE. This is also the audit of existing workloads.

use super::{exit, PolicyArgs};
use crate::manifests::{expand_paths, read_text};
use crate::module::InCluster;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use policy_core::audit::{
    check_document, check_text, gather, generate_exemptions, unreadable, DocumentText, Evaluator,
    Locate, ObjectResult, Options,
};
pub use policy_core::audit::{
    object_name, outcome, CheckRow, NamespaceRow, Outcome, Overview, Summary,
};
use policy_core::cluster::Snapshot;
use policy_core::documents::Document;
use policy_core::reports::{junit, kubernetes_reports, sarif, Context, Flavour};
use serde::Serialize;
use serde_json::Value;
use std::io::Write as _;
use std::path::PathBuf;

/// Check manifests against the policy.
///
/// Reads what `kubectl apply -f` reads: YAML documents, JSON (one value, JSON Lines, or
/// `---`-separated), `List`s and AdmissionReviews, from files, folders (recursively) or
/// standard input (`-`). A plain manifest is judged as a CREATE in its namespace (or
/// `default`, or -n). Objects podsec does not evaluate (ConfigMaps, Services, …) are
/// skipped and counted apart; files that are not Kubernetes objects (Chart.yaml,
/// values.yaml) are skipped with the reason. Exit status: 0 nothing denied, 1 something
/// denied, 2 bad input or settings, or no Kubernetes objects at all.
///
/// With `namespaceLabels` in the settings, each object is judged at its namespace's Pod
/// Security labels, read from the Namespace objects of the input (and --namespace-label).
#[derive(Debug, Args)]
#[command(after_help = CHECK_EXAMPLES)]
pub struct Check {
    /// Files, folders, or `-` for standard input.
    #[arg(value_name = "PATH", default_value = "-")]
    pub paths: Vec<PathBuf>,
    /// The namespace of namespaced objects that name none (else `default`).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// With namespaceLabels: set a label of a namespace, as NAME:KEY=VALUE (repeatable).
    /// A namespace of the input whose enforce level this tightens also gets PSA's dry run:
    /// the warnings `kubectl label` would print for its pods.
    #[arg(long = "namespace-label", value_name = "NAME:KEY=VALUE")]
    pub namespace_labels: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Denials and errors only (human output).
    #[arg(short, long)]
    pub quiet: bool,
    /// The overview only, without a line per object (human output).
    #[arg(long)]
    pub summary: bool,
    /// List the objects podsec skipped, with the reason (human output).
    #[arg(long)]
    pub show_skipped: bool,
    /// Objects that look like a mistake are errors: not Kubernetes objects, a kind podsec
    /// evaluates under another API group (extensions/v1beta1 DaemonSet), a misspelt kind.
    #[arg(long)]
    pub strict: bool,
    /// Print the settings, with the narrowest `exemptions` entries (per check, image,
    /// namespace and value) under which every violation of the input passes, instead of the
    /// results: a start for moving a cluster to a stricter level.
    #[arg(long)]
    pub generate_exemptions: bool,
    /// Colour in human output: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// The module, its settings and the sandbox limits.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `podsec check --help`'s examples, one per line.
const CHECK_EXAMPLES: &str = "\
Examples:
  podsec check deploy/
  podsec check --level restricted pod.yaml
  helm template ./chart | podsec check - --level restricted
  kubectl get pods,deploy -A -o yaml | podsec check - --format json
  kubectl get pods -A -o json | jq -c '.items[]' | podsec check -
  kubectl get pods,deploy -A -o json | podsec check - --level restricted --generate-exemptions > settings.json
  kubectl get ns,pods,deploy -A -o yaml | podsec check - --settings-json '{\"namespaceLabels\": true}'
  kubectl get ns,pods -A -o yaml | podsec check - --settings-json '{\"namespaceLabels\": true}' --namespace-label shop:pod-security.kubernetes.io/enforce=restricted";

/// When human output is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::IsTerminal::is_terminal(&std::io::stdout())
            }
        }
    }
}

/// How `check` prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per object, violations below it, a summary line.
    Human,
    /// One JSON document: `{"results": […], "summary": {…}, "overview": {…}}`.
    Json,
    /// `wgpolicyk8s.io/v1alpha2` PolicyReports (one per namespace) and a
    /// ClusterPolicyReport, as a `List` `kubectl apply -f` takes.
    PolicyReport,
    /// `openreports.io/v1alpha1` Reports and a ClusterReport, as a `List`.
    Openreports,
    /// SARIF 2.1.0, each violation at its file, line and column.
    Sarif,
    /// JUnit XML: a test case per object.
    Junit,
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
    /// Compliance at a glance: per check and per namespace.
    pub overview: &'r Overview,
}

/// The exit status for a summary's counts: 2 when something could not be evaluated, 1
/// when something was denied, else 0.
pub fn exit_code(summary: &Summary) -> u8 {
    if summary.errors > 0 {
        exit::ERROR
    } else if summary.denied > 0 {
        exit::DENIED
    } else {
        exit::ALLOWED
    }
}

impl Check {
    /// Runs the subcommand; returns the exit status.
    pub fn execute(self) -> Result<u8> {
        let (module, settings) = self.policy.load()?;
        let reads_stdin = self.paths.iter().any(|p| p.as_os_str() == "-");
        if reads_stdin && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            eprintln!("podsec check: reading manifests from standard input (end with Ctrl-D; `podsec check --help` for files and folders)");
        }
        let files = expand_paths(&self.paths)?;
        let parsed = policy_core::Settings::from_value(&settings).ok();
        let labelled = parsed.as_ref().is_some_and(|s| s.namespace_labels);
        if !labelled && !self.namespace_labels.is_empty() {
            bail!("--namespace-label needs the namespace-labels mode: add \"namespaceLabels\": true to the settings");
        }
        let options = Options {
            namespace: self.namespace.clone(),
            strict: self.strict,
            // SARIF points at each field's line and column.
            locate: if self.format == Format::Sarif {
                Locate::Yes
            } else {
                Locate::No
            },
            containers: self.generate_exemptions,
        };
        let results = if labelled {
            let (cluster, dry_runs) = cluster_of(&files, &self.namespace_labels)?;
            let evaluator = InCluster {
                module: &module,
                cluster: std::sync::Arc::new(cluster),
            };
            let mut results = check_files(&evaluator, &settings, &files, &options);
            for document in dry_runs {
                check_document(
                    &evaluator,
                    &settings,
                    document,
                    &DocumentText::none(),
                    &options,
                    &mut results,
                );
            }
            results
        } else {
            check_files(&module, &settings, &files, &options)
        };
        if !results
            .iter()
            .any(|r| r.kind.is_some() || r.error.is_some())
        {
            let inputs: Vec<String> = self
                .paths
                .iter()
                .map(|p| {
                    if p.as_os_str() == "-" {
                        "standard input".to_owned()
                    } else {
                        p.display().to_string()
                    }
                })
                .collect();
            eprintln!("podsec: no Kubernetes objects in {}", inputs.join(", "));
            return Ok(exit::ERROR);
        }
        let summary = Summary::of(&results);
        if self.generate_exemptions {
            return print_exemptions(&settings, &results, &summary);
        }
        let overview = Overview::with_settings(&results, parsed.as_ref());
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        match self.format {
            Format::Json => {
                let report = Report {
                    results: &results,
                    summary: &summary,
                    overview: &overview,
                };
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
            }
            Format::PolicyReport | Format::Openreports => {
                let flavour = if self.format == Format::PolicyReport {
                    Flavour::PolicyReport
                } else {
                    Flavour::OpenReports
                };
                let seconds = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let context = Context::new(parsed.as_ref(), seconds);
                let reports = kubernetes_reports(flavour, &context, &results);
                serde_json::to_writer_pretty(&mut out, &reports)?;
                writeln!(out)?;
            }
            Format::Sarif => {
                serde_json::to_writer_pretty(&mut out, &sarif(&results))?;
                writeln!(out)?;
            }
            Format::Junit => out.write_all(junit(&results).as_bytes())?,
            Format::Human => {
                let style = Human {
                    color: self.color.enabled(),
                    quiet: self.quiet,
                    objects: !self.summary,
                    skipped: self.show_skipped,
                };
                style.print(&mut out, &results, &summary, &overview)?;
            }
        }
        out.flush()?;
        Ok(exit_code(&summary))
    }
}

/// `--generate-exemptions`: the settings in use with the generated entries added to their
/// `exemptions` list. Exit 0, or 2 when some documents could not be evaluated (they are
/// not covered).
fn print_exemptions(settings: &Value, results: &[CheckResult], summary: &Summary) -> Result<u8> {
    let generated = generate_exemptions(results);
    let mut settings = match settings {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    let mut entries = match settings.remove("exemptions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(_) => bail!(
            "these settings hold PSA's exemptions object (usernames, namespaces, runtimeClasses); exemptions scoped to checks are the list form of the same field: move PSA's exemptions to excludedUsernames, excludedNamespaces and excludedRuntimeClasses first"
        ),
    };
    let added = generated.len();
    entries.extend(generated);
    if !entries.is_empty() {
        settings.insert("exemptions".to_owned(), Value::Array(entries));
    }
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &Value::Object(settings))?;
    writeln!(out)?;
    eprintln!(
        "podsec: {} for {} denied and {} warned objects",
        plural(added, "exemption"),
        summary.denied,
        results
            .iter()
            .filter(|r| outcome(r) == Outcome::Allowed
                && r.violations.as_ref().is_some_and(|v| !v.is_empty()))
            .count()
    );
    if summary.errors > 0 {
        eprintln!(
            "podsec: {} could not be evaluated and {} not covered",
            plural(summary.errors, "document"),
            if summary.errors == 1 { "is" } else { "are" }
        );
        return Ok(exit::ERROR);
    }
    Ok(exit::ALLOWED)
}

/// Reads and judges `files` on every core (one file at a time per worker), keeping the
/// results in file order.
pub fn check_files(
    module: &(impl Evaluator + Sync),
    settings: &Value,
    files: &[PathBuf],
    options: &Options,
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
                    Ok(text) => check_text(module, settings, &source, &text, options),
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

/// How human output looks.
struct Human {
    /// ANSI colours.
    color: bool,
    /// Denials and errors only.
    quiet: bool,
    /// A line per object (off with --summary).
    objects: bool,
    /// Skipped objects listed too.
    skipped: bool,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl Human {
    fn paint(&self, colour: &str, text: &str) -> String {
        if self.color {
            format!("{colour}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    fn print(
        &self,
        out: &mut impl std::io::Write,
        results: &[CheckResult],
        summary: &Summary,
        overview: &Overview,
    ) -> std::io::Result<()> {
        if self.objects {
            for result in results {
                self.print_result(out, result)?;
            }
        }
        // The overview is for many objects: with --summary, or past one evaluated object.
        let evaluated = summary.allowed + summary.denied;
        if !self.objects || (evaluated > 1 && !self.quiet) {
            self.print_overview(out, overview, summary)?;
        }
        let mut line = format!(
            "summary: {}: {} allowed, {} denied, {} skipped, {} errors",
            plural(summary.objects, "object"),
            summary.allowed,
            summary.denied,
            summary.skipped,
            summary.errors
        );
        if summary.skipped > 0 && !self.skipped && self.objects {
            line.push_str(" (--show-skipped lists the skipped)");
        }
        writeln!(out, "{line}")
    }

    fn print_result(
        &self,
        out: &mut impl std::io::Write,
        result: &CheckResult,
    ) -> std::io::Result<()> {
        let object = object_name(result);
        let mut place = format!("{}#{}", result.source, result.document);
        if let Some(item) = &result.item {
            place.push(' ');
            place.push_str(item);
        }
        match outcome(result) {
            Outcome::Error => {
                let error = result.error.as_deref().unwrap_or("no verdict");
                let label = self.paint(RED, "ERROR   ");
                // Parse errors already start with their file, line and column.
                if error.starts_with(&format!("{}:", result.source)) {
                    writeln!(out, "{label} {error}")?;
                } else if result.kind.is_some() {
                    writeln!(out, "{label} {object}  ({place}): {error}")?;
                } else {
                    writeln!(out, "{label} {place}: {error}")?;
                }
            }
            Outcome::Denied => {
                writeln!(out, "{} {object}  ({place})", self.paint(RED, "DENIED  "))?;
                if let Some(message) = &result.message {
                    writeln!(out, "         {message}")?;
                }
                for violation in result.violations.iter().flatten() {
                    let check = violation.check.as_str();
                    let path = &violation.path;
                    let value = &violation.value;
                    writeln!(out, "           {check:<28} {path} = {value}")?;
                }
                self.print_exempted(out, result)?;
                self.print_audit(out, result)?;
            }
            Outcome::Skipped => {
                if self.skipped && !self.quiet {
                    let why = result.skipped.as_deref().unwrap_or("");
                    let line = format!("SKIPPED  {object}  ({place}): {why}");
                    writeln!(out, "{}", self.paint(DIM, &line))?;
                }
            }
            Outcome::Allowed => {
                if self.quiet {
                    return Ok(());
                }
                writeln!(out, "{} {object}  ({place})", self.paint(GREEN, "ALLOWED "))?;
                for warning in result.warnings.iter().flatten() {
                    writeln!(
                        out,
                        "         {}",
                        self.paint(YELLOW, &format!("warning: {warning}"))
                    )?;
                }
                self.print_exempted(out, result)?;
                self.print_audit(out, result)?;
            }
        }
        Ok(())
    }

    /// The fields an `exemptions` entry let through: skipped, and said so.
    fn print_exempted(
        &self,
        out: &mut impl std::io::Write,
        result: &CheckResult,
    ) -> std::io::Result<()> {
        for violation in result.exempted.iter().flatten() {
            let line = format!(
                "           {:<28} {} = {}  exempt: exemptions[{}]",
                violation.check.as_str(),
                violation.path,
                violation.value,
                violation.exemption.unwrap_or(0)
            );
            writeln!(out, "{}", self.paint(DIM, &line))?;
        }
        Ok(())
    }

    /// The namespace-labels mode's audit annotations that say something about the object:
    /// the audit level's violations and a policy that could not be read.
    fn print_audit(
        &self,
        out: &mut impl std::io::Write,
        result: &CheckResult,
    ) -> std::io::Result<()> {
        for (key, value) in result.annotations.iter().flatten() {
            if key == "audit-violations" || key == "error" {
                writeln!(out, "         audit {key}: {value}")?;
            }
        }
        Ok(())
    }

    /// Compliance at a glance: the checks objects fail, then the namespaces' counts.
    fn print_overview(
        &self,
        out: &mut impl std::io::Write,
        overview: &Overview,
        summary: &Summary,
    ) -> std::io::Result<()> {
        if summary.allowed + summary.denied == 0 {
            return Ok(());
        }
        writeln!(out)?;
        let failing: Vec<&CheckRow> = overview
            .checks
            .iter()
            .filter(|r| r.non_compliant > 0)
            .collect();
        if failing.is_empty() {
            writeln!(
                out,
                "{}",
                self.paint(BOLD, "checks: every evaluated object passes")
            )?;
        } else {
            writeln!(out, "{}", self.paint(BOLD, "checks failed"))?;
            for row in failing {
                let objects = plural(row.non_compliant, "object");
                let namespaces = shown_list(&row.namespaces);
                let mut line = format!(
                    "  {:<28} {:<11} {objects} in {}",
                    row.check, row.level, namespaces
                );
                if row.exempted > 0 {
                    line.push_str(&format!(", {} exempted", row.exempted));
                }
                writeln!(out, "{line}")?;
            }
        }
        let exempt_only: Vec<&CheckRow> = overview
            .checks
            .iter()
            .filter(|r| r.non_compliant == 0 && r.exempted > 0)
            .collect();
        if !exempt_only.is_empty() {
            writeln!(out, "{}", self.paint(BOLD, "checks passed with exemptions"))?;
            for row in exempt_only {
                writeln!(
                    out,
                    "  {:<28} {:<11} {} exempted",
                    row.check,
                    row.level,
                    plural(row.exempted, "object")
                )?;
            }
        }
        if overview.namespaces.len() > 1
            || overview.namespaces.iter().any(|n| !n.namespace.is_empty())
        {
            writeln!(out, "{}", self.paint(BOLD, "namespaces"))?;
            writeln!(
                out,
                "  {:<28} {:>8} {:>8} {:>8} {:>8} {:>14}",
                "NAMESPACE", "ALLOWED", "DENIED", "SKIPPED", "ERRORS", "NON-COMPLIANT"
            )?;
            for row in &overview.namespaces {
                let name = if row.namespace.is_empty() {
                    "(none)"
                } else {
                    row.namespace.as_str()
                };
                writeln!(
                    out,
                    "  {name:<28} {:>8} {:>8} {:>8} {:>8} {:>14}",
                    row.allowed, row.denied, row.skipped, row.errors, row.non_compliant
                )?;
            }
        }
        if !overview.controls.is_empty() {
            writeln!(
                out,
                "{}",
                self.paint(BOLD, "controls (preset azure-baseline)")
            )?;
            for row in &overview.controls {
                writeln!(
                    out,
                    "  {:<86} {:>5} compliant {:>5} non-compliant",
                    row.control, row.compliant, row.non_compliant
                )?;
            }
        }
        if !overview.exempted.is_empty() {
            writeln!(out, "{}", self.paint(BOLD, "exempted"))?;
            for line in &overview.exempted {
                writeln!(out, "  {line}")?;
            }
        }
        writeln!(out)
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Namespaces as a short list: `(none)` for objects in none, at most five named.
fn shown_list(namespaces: &[String]) -> String {
    let names: Vec<&str> = namespaces
        .iter()
        .map(|n| if n.is_empty() { "(none)" } else { n.as_str() })
        .collect();
    let count = plural(names.len(), "namespace");
    if names.len() <= 5 {
        format!("{count} ({})", names.join(", "))
    } else {
        let first: Vec<&str> = names.iter().take(5).copied().collect();
        format!("{count} ({}, …)", first.join(", "))
    }
}
