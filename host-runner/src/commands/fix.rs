//! `podsec fix`: the smallest change that makes each object pass the configured level,
//! where a safe one exists; the fixed manifests, or the changes as JSON Patch.

use super::{exit, PolicyArgs};
use crate::manifests::{expand_paths, read_text};
use anyhow::{anyhow, bail, Result};
use clap::{Args, ValueEnum};
use policy_core::fix::{Change, FixClass, FixOptions, Remaining};
use policy_core::rewrite::{fix_text, FileFix};
use serde::Serialize;
use serde_json::Value;
use std::io::Write as _;
use std::path::PathBuf;

/// Fix manifests so they pass the policy.
///
/// Each object (of the files, folders or standard input that `podsec check` reads) gets
/// the smallest change that makes it pass, check by check. Changes are classed: safe ones
/// (allowPrivilegeEscalation=false, capabilities.drop [ALL], seccomp and AppArmor
/// RuntimeDefault, procMount Default, …) are made; needs-review ones (runAsNonRoot,
/// removing added capabilities or unsafe sysctls, …) only with --include-review; what cannot
/// be fixed (privileged, host namespaces, hostPath volumes, host ports, …) is listed with the
/// reason and left as it is. A Windows pod never gets a Linux-only field.
///
/// Prints the fixed manifests (YAML stays YAML, JSON stays JSON; documents nothing changed
/// in are kept as they were, comments included), or with --format patch one RFC 6902 JSON
/// Patch per object, each operation naming the check it satisfies and its class. What was
/// changed and what is left goes to standard error. Exit status: 0 everything now passes,
/// 1 some violations are left, 2 bad input or settings.
#[derive(Debug, Args)]
#[command(after_help = FIX_EXAMPLES)]
pub struct Fix {
    /// Files, folders, or `-` for standard input.
    #[arg(value_name = "PATH", default_value = "-")]
    pub paths: Vec<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Manifest)]
    pub format: Format,
    /// Write the fixed manifests back to their files instead of printing them.
    #[arg(short = 'i', long)]
    pub in_place: bool,
    /// Also make the changes that need review (the settings' `fix.includeReview`).
    #[arg(long)]
    pub include_review: bool,
    /// The user id to run as where runAsNonRoot is added or runAsUser 0 replaced (the
    /// settings' `fix.runAsUser`).
    #[arg(long, value_name = "UID")]
    pub run_as_user: Option<i64>,
    /// The module, its settings and the sandbox limits.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `podsec fix --help`'s examples, one per line.
const FIX_EXAMPLES: &str = "\
Examples:
  podsec fix --level restricted deploy.yaml > deploy.fixed.yaml
  podsec fix --level restricted --in-place k8s/
  podsec fix --level restricted --include-review --run-as-user 10001 pod.yaml
  podsec fix --level restricted --format patch pod.yaml
  helm template ./chart | podsec fix - --level restricted | kubectl apply -f -";

/// What `fix` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The fixed manifests.
    Manifest,
    /// A JSON list: per object, its RFC 6902 patch (annotated) and what is left.
    Patch,
}

/// One object in `--format patch`.
#[derive(Serialize)]
struct ObjectPatch<'a> {
    source: &'a str,
    document: usize,
    #[serde(skip_serializing_if = "str::is_empty")]
    path: &'a str,
    object: &'a str,
    allowed: bool,
    patch: &'a [Change],
    remaining: &'a [Remaining],
}

impl Fix {
    /// Runs the subcommand; returns the exit status.
    pub fn execute(self) -> Result<u8> {
        if let Some(uid) = self.run_as_user {
            if !(1..=2_147_483_647).contains(&uid) {
                bail!("--run-as-user must be a user id from 1 to 2147483647 (not root)");
            }
        }
        let reads_stdin = self.paths.iter().any(|p| p.as_os_str() == "-");
        if self.in_place && reads_stdin {
            bail!("--in-place writes files back; standard input has none");
        }
        let (module, settings) = self.policy.load()?;
        let parsed = policy_core::Settings::from_value(&settings)
            .map_err(|e| anyhow!("invalid settings: {}", e.message()))?;
        if parsed.namespace_labels {
            bail!("podsec fix works at one level: give --level (and --version) instead of the namespace-labels mode");
        }
        let options = FixOptions {
            include_review: self.include_review || parsed.fix.include_review,
            run_as_user: self.run_as_user.or(parsed.fix.run_as_user),
        };
        if reads_stdin && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            eprintln!("podsec fix: reading manifests from standard input (end with Ctrl-D)");
        }
        let files = expand_paths(&self.paths)?;
        let mut fixes = Vec::with_capacity(files.len());
        let mut errors = Vec::new();
        for path in &files {
            let source = path.display().to_string();
            match read_text(path) {
                Ok(text) => {
                    let fixed = fix_text(&source, &text, &settings, options, &module);
                    fixes.push((path.clone(), source, fixed));
                }
                Err(error) => errors.push(error),
            }
        }
        let tally = report(&fixes, &mut errors)?;
        if tally.objects == 0 && errors.is_empty() {
            eprintln!("podsec: no Kubernetes objects to fix");
            return Ok(exit::ERROR);
        }
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        if self.in_place {
            for (path, _, fix) in &fixes {
                if fix.changed() {
                    std::fs::write(path, &fix.text)
                        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
                }
            }
        } else if self.format == Format::Patch {
            let mut entries = Vec::new();
            for (_, source, fix) in &fixes {
                for object in &fix.objects {
                    let Ok(fixed) = &object.outcome else { continue };
                    if fixed.changes.is_empty() && fixed.remaining.is_empty() {
                        continue;
                    }
                    entries.push(ObjectPatch {
                        source,
                        document: object.document,
                        path: object.at.as_str(),
                        object: &object.name,
                        allowed: fixed.verdict.allowed,
                        patch: &fixed.changes,
                        remaining: &fixed.remaining,
                    });
                }
            }
            serde_json::to_writer_pretty(&mut out, &entries)?;
            writeln!(out)?;
        } else {
            for (index, (_, _, fix)) in fixes.iter().enumerate() {
                if index > 0 && !fix.text.trim_start().starts_with("---") {
                    out.write_all(b"---\n")?;
                }
                out.write_all(fix.text.as_bytes())?;
            }
        }
        out.flush()?;
        for error in &errors {
            eprintln!("podsec: {error}");
        }
        Ok(if !errors.is_empty() {
            exit::ERROR
        } else if tally.failing > 0 {
            exit::DENIED
        } else {
            exit::ALLOWED
        })
    }
}

/// What `report` counted.
struct Tally {
    objects: usize,
    failing: usize,
}

/// Tells on standard error what was changed and what is left, object by object, and
/// collects the objects that could not be evaluated into `errors`.
fn report(fixes: &[(PathBuf, String, FileFix)], errors: &mut Vec<String>) -> Result<Tally> {
    let mut err = std::io::stderr().lock();
    let (mut objects, mut fixed_count, mut passing, mut failing, mut skipped) = (0, 0, 0, 0, 0);
    let (mut review, mut cannot) = (0, 0);
    for (_, source, fix) in fixes {
        errors.extend(fix.errors.iter().cloned());
        for object in &fix.objects {
            objects += 1;
            let at = if object.at.as_str().is_empty() {
                format!("{source}#{}", object.document)
            } else {
                format!("{source}#{} {}", object.document, object.at)
            };
            let fixed = match &object.outcome {
                Ok(fixed) => fixed,
                Err(error) => {
                    errors.push(format!("{at}: {} cannot be fixed: {error}", object.name));
                    continue;
                }
            };
            if fixed.verdict.skipped.is_some() && fixed.changes.is_empty() {
                skipped += 1;
                continue;
            }
            let state = match (fixed.changes.is_empty(), fixed.remaining.is_empty()) {
                (true, true) => {
                    passing += 1;
                    continue;
                }
                (false, true) => {
                    fixed_count += 1;
                    "FIXED "
                }
                (_, false) => {
                    failing += 1;
                    "LEFT  "
                }
            };
            writeln!(
                err,
                "{state} {}  ({at}): {} changed, {} left",
                object.name,
                fixed.changes.len(),
                fixed.remaining.len()
            )?;
            for change in &fixed.changes {
                writeln!(
                    err,
                    "         {:<13} {:<27} {}",
                    change.class.as_str(),
                    change.check.as_str(),
                    change.describe()
                )?;
            }
            for left in &fixed.remaining {
                match left.class {
                    FixClass::NeedsReview => review += 1,
                    _ => cannot += 1,
                }
                writeln!(
                    err,
                    "         {:<13} {:<27} {} = {}: {}",
                    left.class.as_str(),
                    left.check.as_str(),
                    left.field,
                    compact(&left.value),
                    left.reason
                )?;
            }
        }
    }
    writeln!(
        err,
        "podsec fix: {objects} {}: {fixed_count} fixed, {passing} already passing, {failing} still failing ({review} {} review, {cannot} cannot be fixed), {skipped} skipped",
        if objects == 1 { "object" } else { "objects" },
        if review == 1 { "field needs" } else { "fields need" },
    )?;
    Ok(Tally { objects, failing })
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
