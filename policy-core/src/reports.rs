//! `podsec check`'s results in the shapes other tools read: PolicyReports
//! (`wgpolicyk8s.io/v1alpha2`, read by Policy Reporter and Kyverno's tooling), OpenReports
//! (`openreports.io/v1alpha1`, what Kubewarden's audit-scanner writes), SARIF 2.1.0 (code
//! scanning of manifests in Git) and JUnit XML (CI test reports), for `podsec check` and the
//! playground's export. docs/REPORTS.md describes each shape. Needs the `yaml` feature.

use crate::audit::{object_name, outcome, ObjectResult as CheckResult, Outcome};
use crate::response::Violation;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Sets `key` of the object `target` (a no-op on anything else).
fn put(target: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = target {
        map.insert(key.to_owned(), value);
    }
}

/// The report source and tool name.
const SOURCE: &str = "podsec";

/// The policy every result names.
const POLICY: &str = "pod-security-standards";

/// Which Kubernetes report resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport.
    PolicyReport,
    /// `openreports.io/v1alpha1` Report and ClusterReport.
    OpenReports,
}

impl Flavour {
    fn api_version(self) -> &'static str {
        match self {
            Flavour::PolicyReport => "wgpolicyk8s.io/v1alpha2",
            Flavour::OpenReports => "openreports.io/v1alpha1",
        }
    }

    fn kind(self, namespaced: bool) -> &'static str {
        match (self, namespaced) {
            (Flavour::PolicyReport, true) => "PolicyReport",
            (Flavour::PolicyReport, false) => "ClusterPolicyReport",
            (Flavour::OpenReports, true) => "Report",
            (Flavour::OpenReports, false) => "ClusterReport",
        }
    }
}

/// What the reports say about the run: the level and version judged at (for a fixed
/// level) and when (given by the caller: the browser has no clock of its own here).
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `level` of the settings (absent in the namespace-labels mode).
    pub level: Option<String>,
    /// `version` of the settings.
    pub version: Option<String>,
    /// Seconds since the Unix epoch.
    pub seconds: u64,
}

impl Context {
    /// The context of a run under `settings`: their fixed level and version (none in the
    /// namespace-labels mode, where each namespace has its own, nor for settings podsec
    /// does not read), stamped `seconds` since the epoch.
    pub fn new(settings: Option<&crate::Settings>, seconds: u64) -> Context {
        let fixed = settings.filter(|s| !s.namespace_labels);
        Context {
            level: fixed.map(|s| s.level.as_str().to_owned()),
            version: fixed.map(|s| s.version.to_string()),
            seconds,
        }
    }
}

/// A check's severity in reports: baseline checks guard against known privilege
/// escalations (high), restricted ones are hardening (medium).
fn severity(violation: &Violation) -> &'static str {
    match violation.check.info().level {
        crate::Level::Baseline => "high",
        _ => "medium",
    }
}

fn category(violation: &Violation) -> String {
    format!(
        "Pod Security Standards ({})",
        violation.check.info().level.as_str()
    )
}

/// One report result: the fields both CRDs share.
fn report_result(
    context: &Context,
    result: &CheckResult,
    rule: Option<&str>,
    outcome: &str,
    message: String,
    properties: Map<String, Value>,
) -> Value {
    let mut resource = Map::new();
    for (key, value) in [
        ("apiVersion", &result.api_version),
        ("kind", &result.kind),
        ("name", &result.name),
        ("namespace", &result.namespace),
        ("uid", &result.uid),
    ] {
        if let Some(value) = value {
            resource.insert(key.to_owned(), json!(value));
        }
    }
    let mut row = json!({
        "source": SOURCE,
        "policy": POLICY,
        "result": outcome,
        "message": message,
        "scored": true,
        "timestamp": {"seconds": context.seconds, "nanos": 0},
        "properties": properties,
    });
    if let Some(rule) = rule {
        put(&mut row, "rule", json!(rule));
    }
    if !resource.is_empty() {
        put(&mut row, "resources", json!([resource]));
    }
    row
}

/// The properties every result of `result` carries (strings only: the CRDs' properties are
/// a string map).
fn base_properties(context: &Context, result: &CheckResult) -> Map<String, Value> {
    let mut properties = Map::new();
    if let Some(level) = &context.level {
        properties.insert("level".to_owned(), json!(level));
    }
    if let Some(version) = &context.version {
        properties.insert("version".to_owned(), json!(version));
    }
    if let Some(policy) = &result.policy {
        properties.insert("namespacePolicy".to_owned(), json!(policy));
    }
    let mut file = format!("{}#{}", result.source, result.document);
    if let Some(item) = &result.item {
        file.push(' ');
        file.push_str(item);
    }
    properties.insert("file".to_owned(), json!(file));
    properties
}

/// The report results for one object: a `fail` (denied) or `warn` (admitted with
/// warnings) per violated field, else one `pass`, `skip` or `error`.
fn results_for(context: &Context, result: &CheckResult) -> Vec<Value> {
    let base = base_properties(context, result);
    match outcome(result) {
        Outcome::Error => vec![report_result(
            context,
            result,
            None,
            "error",
            result.error.clone().unwrap_or_default(),
            base,
        )],
        Outcome::Skipped => vec![report_result(
            context,
            result,
            None,
            "skip",
            result.skipped.clone().unwrap_or_default(),
            base,
        )],
        Outcome::Allowed | Outcome::Denied => {
            let violations = result.violations.as_deref().unwrap_or_default();
            let exempted = result.exempted.as_deref().unwrap_or_default();
            let verdict = if outcome(result) == Outcome::Denied {
                "fail"
            } else {
                "warn"
            };
            let field_row = |violation: &Violation, verdict: &str| {
                let mut properties = base.clone();
                properties.insert("path".to_owned(), json!(violation.path.to_string()));
                properties.insert("value".to_owned(), json!(violation.value.to_string()));
                let mut message = format!("{} ({})", violation.reason, violation.detail);
                if let Some(entry) = violation.exemption {
                    properties.insert(
                        "exemption".to_owned(),
                        json!(format!("exemptions[{entry}]")),
                    );
                    message = format!("exempted by exemptions[{entry}]: {message}");
                }
                let mut row = report_result(
                    context,
                    result,
                    Some(violation.check.as_str()),
                    verdict,
                    message,
                    properties,
                );
                put(&mut row, "severity", json!(severity(violation)));
                put(&mut row, "category", json!(category(violation)));
                row
            };
            let mut rows: Vec<Value> = violations.iter().map(|v| field_row(v, verdict)).collect();
            if rows.is_empty() {
                let message = if exempted.is_empty() {
                    "passes every Pod Security check"
                } else {
                    "passes every Pod Security check, with exemptions"
                };
                rows.push(report_result(
                    context,
                    result,
                    None,
                    "pass",
                    message.to_owned(),
                    base.clone(),
                ));
            }
            rows.extend(exempted.iter().map(|v| field_row(v, "skip")));
            rows
        }
    }
}

/// One report per namespace and one cluster-scoped report (objects in no namespace), as a
/// `v1` `List` that `kubectl apply -f` takes.
pub fn kubernetes_reports(flavour: Flavour, context: &Context, results: &[CheckResult]) -> Value {
    let mut by_namespace: BTreeMap<Option<&str>, Vec<Value>> = BTreeMap::new();
    for result in results {
        by_namespace
            .entry(result.namespace.as_deref())
            .or_default()
            .extend(results_for(context, result));
    }
    let items: Vec<Value> = by_namespace
        .into_iter()
        .map(|(namespace, rows)| {
            let mut counts: BTreeMap<&str, u64> = ["pass", "fail", "warn", "error", "skip"]
                .into_iter()
                .map(|key| (key, 0))
                .collect();
            for row in &rows {
                let key = row.get("result").and_then(Value::as_str).unwrap_or("");
                if let Some(count) = counts.get_mut(key) {
                    *count = count.saturating_add(1);
                }
            }
            let summary = json!(counts);
            let mut metadata = json!({
                "name": SOURCE,
                "labels": {"app.kubernetes.io/managed-by": SOURCE},
            });
            if let Some(namespace) = namespace {
                put(&mut metadata, "namespace", json!(namespace));
            }
            let mut report = json!({
                "apiVersion": flavour.api_version(),
                "kind": flavour.kind(namespace.is_some()),
                "metadata": metadata,
                "summary": summary,
                "results": rows,
            });
            if flavour == Flavour::OpenReports {
                put(&mut report, "source", json!(SOURCE));
            }
            report
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// SARIF 2.1.0: a rule per check, a result per violated field, located at the field's line
/// and column in its file; unreadable documents are `error` results of rule
/// `podsec/unreadable`.
pub fn sarif(results: &[CheckResult]) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut rule_index = |id: &str, make: &dyn Fn() -> Value| -> usize {
        if let Some(at) = index.get(id) {
            return *at;
        }
        rules.push(make());
        let at = rules.len().saturating_sub(1);
        index.insert(id.to_owned(), at);
        at
    };
    let mut out = Vec::new();
    for result in results {
        let uri = if result.source == "-" {
            "stdin".to_owned()
        } else {
            result.source.clone()
        };
        let location = |line: Option<usize>, column: Option<usize>| {
            let mut region = Map::new();
            region.insert(
                "startLine".to_owned(),
                json!(line.unwrap_or(result.line).max(1)),
            );
            if let Some(column) = column {
                region.insert("startColumn".to_owned(), json!(column.max(1)));
            }
            json!([{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}])
        };
        match outcome(result) {
            Outcome::Error => {
                let at = rule_index("podsec/unreadable", &|| {
                    json!({"id": "podsec/unreadable", "name": "Unreadable",
                        "shortDescription": {"text": "the document could not be read or evaluated"},
                        "defaultConfiguration": {"level": "error"}})
                });
                out.push(json!({
                    "ruleId": "podsec/unreadable", "ruleIndex": at, "level": "error",
                    "message": {"text": result.error.clone().unwrap_or_default()},
                    "locations": location(result.error_line, result.error_column),
                }));
            }
            Outcome::Skipped => {}
            Outcome::Allowed | Outcome::Denied => {
                let level = if outcome(result) == Outcome::Denied {
                    "error"
                } else {
                    "warning"
                };
                let exempted = result.exempted.iter().flatten();
                for violation in result.violations.iter().flatten().chain(exempted) {
                    let id = violation.check.as_str();
                    let info = violation.check.info();
                    let at = rule_index(id, &|| {
                        json!({
                            "id": id,
                            "name": id,
                            "shortDescription": {"text": info.reason},
                            "fullDescription": {"text": format!("Pod Security Standards, {} level, since v1.{}", info.level.as_str(), info.since_minor)},
                            "helpUri": "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
                            "properties": {"level": info.level.as_str(), "security-severity": if severity(violation) == "high" { "8.0" } else { "5.0" }},
                        })
                    });
                    let mut row = json!({
                        "ruleId": id,
                        "ruleIndex": at,
                        "level": level,
                        "message": {"text": format!("{}: {} ({}): {} = {}", object_name(result), violation.reason, violation.detail, violation.path, violation.value)},
                        "locations": location(violation.line, violation.column),
                    });
                    // An exempted field is a result the settings suppress, as SARIF says it.
                    if let Some(entry) = violation.exemption {
                        put(&mut row, "level", json!("note"));
                        put(
                            &mut row,
                            "suppressions",
                            json!([{"kind": "external", "status": "accepted",
                            "justification": format!("podsec settings, exemptions[{entry}]")}]),
                        );
                    }
                    out.push(row);
                }
            }
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": SOURCE,
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
                "rules": rules,
            }},
            "results": out,
        }],
    })
}

/// Text as XML character data or an attribute value: markup characters escaped, and the
/// control characters XML 1.0 forbids left out.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a test suite per file, a test case per object (`failure` when denied,
/// `skipped` when not evaluated, `error` when unreadable; warnings go to `system-out`).
pub fn junit(results: &[CheckResult]) -> String {
    let mut files: BTreeMap<&str, Vec<&CheckResult>> = BTreeMap::new();
    for result in results {
        files
            .entry(result.source.as_str())
            .or_default()
            .push(result);
    }
    let count = |rows: &[&CheckResult], wanted: Outcome| {
        rows.iter().filter(|r| outcome(r) == wanted).count()
    };
    let all: Vec<&CheckResult> = results.iter().collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"podsec\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        all.len(),
        count(&all, Outcome::Denied),
        count(&all, Outcome::Error),
        count(&all, Outcome::Skipped)
    ));
    for (file, rows) in &files {
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
            xml(file),
            rows.len(),
            count(rows, Outcome::Denied),
            count(rows, Outcome::Error),
            count(rows, Outcome::Skipped)
        ));
        for result in rows {
            let name = match &result.item {
                Some(item) => format!("{} (#{} {item})", object_name(result), result.document),
                None => format!("{} (#{})", object_name(result), result.document),
            };
            out.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{}\">\n",
                xml(&name),
                xml(file)
            ));
            match outcome(result) {
                Outcome::Denied => {
                    let mut body = String::new();
                    for violation in result.violations.iter().flatten() {
                        body.push_str(&format!(
                            "{}: {} = {}\n",
                            violation.check.as_str(),
                            violation.path,
                            violation.value
                        ));
                    }
                    out.push_str(&format!(
                        "      <failure type=\"denied\" message=\"{}\">{}</failure>\n",
                        xml(result.message.as_deref().unwrap_or("")),
                        xml(&body)
                    ));
                }
                Outcome::Error => out.push_str(&format!(
                    "      <error type=\"unreadable\" message=\"{}\"/>\n",
                    xml(result.error.as_deref().unwrap_or(""))
                )),
                Outcome::Skipped => out.push_str(&format!(
                    "      <skipped message=\"{}\"/>\n",
                    xml(result.skipped.as_deref().unwrap_or(""))
                )),
                Outcome::Allowed => {}
            }
            let mut notes: Vec<String> = result.warnings.clone().unwrap_or_default();
            for violation in result.exempted.iter().flatten() {
                notes.push(format!(
                    "exempted by exemptions[{}]: {}: {} = {}",
                    violation.exemption.unwrap_or(0),
                    violation.check.as_str(),
                    violation.path,
                    violation.value
                ));
            }
            if !notes.is_empty() {
                out.push_str(&format!(
                    "      <system-out>{}</system-out>\n",
                    xml(&notes.join("\n"))
                ));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_forbidden_controls() {
        assert_eq!(xml("a<b>&\"c'\u{1}\n"), "a&lt;b&gt;&amp;&quot;c&apos;\n");
    }
}
