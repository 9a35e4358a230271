//! podsec's engine for the browser playground: policy-core compiled with wasm-bindgen, judging the text in the
//! page's editors the way `podsec check` judges a file (same reader, same CREATE request,
//! same evaluation), and adding the line each violation points at.
//!
//! Exports (all take and return strings; the JSON shapes are in `playground/README.md`):
//! - `about()`: the podsec version, the newest Pod Security Standards version it knows, the
//!   versions, levels and checks.
//! - `evaluate(object, settings, overrides)`: the object editor's text (YAML or JSON, any
//!   number of documents), the settings editor's text (YAML or JSON), and the pickers'
//!   choices as a JSON object that wins over the settings text. When the settings turn
//!   the namespace-labels mode on (`namespaceLabels: true`, or a PodSecurityConfiguration),
//!   the Namespaces and Pods in the object editor are the cluster the policy asks about.
//! - `report(object, settings, overrides, format, seconds)`: the same judgement as a report
//!   (`policy-report`, `openreports`, `sarif`, `junit`), as `podsec check --format` writes it.
//! - The audit of a whole cluster dump, a batch at a time so a Web Worker can report
//!   progress: `audit_start(text, settings, overrides)` reads the dump and answers how many
//!   objects it holds; `audit_step(count)` judges the next `count` and answers how many are
//!   done; `audit_finish()` answers `{"results", "summary", "overview"}`, the rows, counts
//!   and overview of `podsec check --format json`; `audit_object(index)` the object of row
//!   `index` as JSON text (to open it in the editor); `audit_report(format, seconds)` the
//!   audit as a report.
//! - `fix(object, settings, overrides, include_review)`: the object editor's text fixed as
//!   `podsec fix` fixes a file, with each object's changes (class, check, field, the RFC
//!   6902 operation) and what is left.

use policy_core::audit::{
    check_document, check_text, gather, DocumentText, NativeEngine, NativeInCluster, ObjectResult,
    Options, Overview, Summary,
};
use policy_core::checks::CheckId;
use policy_core::cluster::Snapshot;
use policy_core::documents::yaml_error_text;
use policy_core::documents::{parse_documents, Document};
use policy_core::fix::FixOptions;
use policy_core::level::LATEST_MINOR;
use policy_core::locate::Locator;
use policy_core::reports::{junit, kubernetes_reports, sarif, Context, Flavour};
use policy_core::rewrite::fix_text;
use policy_core::Settings;
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use wasm_bindgen::prelude::wasm_bindgen;

/// The name parse errors give the object editor's text.
const OBJECT_SOURCE: &str = "object";

/// What the playground shows in its header and offers in its pickers, as JSON.
#[wasm_bindgen]
pub fn about() -> String {
    about_value().to_string()
}

/// Judges the editors' contents; returns the JSON described in the module docs.
#[wasm_bindgen]
pub fn evaluate(object: &str, settings: &str, overrides: &str) -> String {
    evaluate_text(object, settings, overrides).to_string()
}

/// Fixes the object editor's text as `podsec fix` fixes a file; returns the JSON of
/// [`fix_value`].
#[wasm_bindgen]
pub fn fix(object: &str, settings: &str, overrides: &str, include_review: bool) -> String {
    fix_value(object, settings, overrides, include_review).to_string()
}

/// [`fix`] as a value: `{"settings": {"valid", "message"?}, "text", "changed", "errors",
/// "objects": [{"document", "at", "name", "allowed", "changes": [{"op", "path", "value",
/// "check", "class", "field", "description"}], "remaining": [{"check", "class", "field",
/// "value", "reason"}], "error"?}]}`. The namespace-labels mode is refused: fixing works at
/// one level.
pub fn fix_value(object: &str, settings: &str, overrides: &str, include_review: bool) -> Value {
    let (settings, parsed) = match read_settings(settings, overrides) {
        Ok(read) => read,
        Err(problem) => return json!({"settings": problem, "objects": []}),
    };
    if parsed.namespace_labels {
        return json!({"settings": {"valid": false, "message": "Fix works at one level: choose \"one fixed level\"."}, "objects": []});
    }
    let options = FixOptions {
        include_review: include_review || parsed.fix.include_review,
        run_as_user: parsed.fix.run_as_user,
    };
    let fixed = fix_text(OBJECT_SOURCE, object, &settings, options, &NativeEngine);
    let objects: Vec<Value> = fixed
        .objects
        .iter()
        .map(|o| {
            let mut row = json!({"document": o.document, "at": o.at, "name": o.name});
            match &o.outcome {
                Ok(outcome) => {
                    let changes: Vec<Value> = outcome
                        .changes
                        .iter()
                        .map(|change| {
                            let mut value = serde_json::to_value(change).unwrap_or(Value::Null);
                            set(&mut value, "description", json!(change.describe()));
                            value
                        })
                        .collect();
                    set(&mut row, "allowed", json!(outcome.verdict.allowed));
                    set(
                        &mut row,
                        "skipped",
                        json!(outcome.verdict.skipped.is_some()),
                    );
                    set(&mut row, "changes", json!(changes));
                    set(&mut row, "remaining", json!(outcome.remaining));
                }
                Err(error) => set(&mut row, "error", json!(error)),
            }
            row
        })
        .collect();
    json!({
        "settings": {"valid": true},
        "text": fixed.text,
        "changed": fixed.changed(),
        "errors": fixed.errors,
        "objects": objects,
    })
}

/// [`about`] as a value.
pub fn about_value() -> Value {
    let versions: Vec<String> = std::iter::once("latest".to_owned())
        .chain((0..=LATEST_MINOR).rev().map(|minor| format!("v1.{minor}")))
        .collect();
    let checks: Vec<Value> = CheckId::all()
        .map(|check| {
            let info = check.info();
            json!({
                "id": info.name,
                "level": info.level.as_str(),
                "since": format!("v1.{}", info.since_minor),
                "reason": info.reason,
            })
        })
        .collect();
    json!({
        "podsec": env!("CARGO_PKG_VERSION"),
        "pss": format!("v1.{LATEST_MINOR}"),
        "levels": ["privileged", "baseline", "restricted"],
        "presets": ["azure-baseline"],
        "versions": versions,
        "checks": checks,
    })
}

/// [`evaluate`] as a value:
/// `{"settings": {"valid", "message"?, "line"?, "column"?, "effective"}, "results": [...]}`.
/// Each result is `podsec check`'s row ([`ObjectResult`](policy_core::audit::ObjectResult): `document`, `line`, `kind`,
/// `namespace`, `name`, `allowed`, `message`, `warnings`, `violations`, `skipped`, or
/// `error` with `errorLine` and `errorColumn`), with each violation located: `line`,
/// `column` and `exact`.
pub fn evaluate_text(object: &str, settings: &str, overrides: &str) -> Value {
    match judge(object, settings, overrides) {
        Ok((settings, parsed, results)) => json!({
            "settings": {"valid": true, "effective": settings, "namespaceLabels": parsed.namespace_labels},
            "results": results,
        }),
        Err(problem) => json!({"settings": problem, "results": []}),
    }
}

/// The editors' contents judged: the effective settings, as written and as read, and a row
/// per object; or the settings' problem.
fn judge(
    object: &str,
    settings: &str,
    overrides: &str,
) -> Result<(Value, Settings, Vec<ObjectResult>), Value> {
    let (settings, parsed) = read_settings(settings, overrides)?;
    let results = if parsed.namespace_labels {
        let mut cluster = Snapshot::new();
        gather(&mut cluster, OBJECT_SOURCE, object);
        let engine = NativeInCluster(&cluster);
        check_text(
            &engine,
            &settings,
            OBJECT_SOURCE,
            object,
            &Options::located(),
        )
    } else {
        check_text(
            &NativeEngine,
            &settings,
            OBJECT_SOURCE,
            object,
            &Options::located(),
        )
    };
    Ok((settings, parsed, results))
}

/// The editors' contents as a report `podsec check --format FORMAT` would write
/// (`policy-report`, `openreports`, `sarif`, `junit`), stamped `seconds` since the epoch;
/// an `Err` says why there is none (bad settings, an unknown format).
#[wasm_bindgen]
pub fn report(
    object: &str,
    settings: &str,
    overrides: &str,
    format: &str,
    seconds: f64,
) -> Result<String, String> {
    let (_, parsed, results) = judge(object, settings, overrides).map_err(|problem| {
        let message = problem["message"].as_str().unwrap_or("invalid settings");
        format!("the settings are not valid: {message}")
    })?;
    // A clock reading from the page: whole seconds, never negative.
    let seconds = if seconds.is_finite() && seconds > 0.0 {
        seconds as u64
    } else {
        0
    };
    let context = Context::new(Some(&parsed), seconds);
    let flavour = |flavour| kubernetes_reports(flavour, &context, &results);
    let value = match format {
        "policy-report" => flavour(Flavour::PolicyReport),
        "openreports" => flavour(Flavour::OpenReports),
        "sarif" => sarif(&results),
        "junit" => return Ok(junit(&results)),
        other => return Err(format!("no report format {other:?}")),
    };
    serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
}

/// One object of an audit: its document (a `List`'s item taken out, with its index) and
/// the object itself, kept to open it in the editor.
struct Unit {
    document: Document,
    item: Option<usize>,
}

/// The audit in progress.
struct Audit {
    settings: Value,
    parsed: Settings,
    cluster: Option<Snapshot>,
    units: Vec<Unit>,
    next: usize,
    results: Vec<ObjectResult>,
    /// For each row of `results`, the unit it came from.
    origin: Vec<usize>,
}

thread_local! {
    static AUDIT: RefCell<Option<Audit>> = const { RefCell::new(None) };
}

/// Reads a cluster dump and the settings for an audit; answers how many objects it holds.
#[wasm_bindgen]
pub fn audit_start(text: &str, settings: &str, overrides: &str) -> Result<usize, String> {
    let (settings, parsed) = read_settings(settings, overrides).map_err(|problem| {
        let message = problem["message"].as_str().unwrap_or("invalid settings");
        format!("the settings are not valid: {message}")
    })?;
    let cluster = parsed.namespace_labels.then(|| {
        let mut cluster = Snapshot::new();
        gather(&mut cluster, OBJECT_SOURCE, text);
        cluster
    });
    let mut units = Vec::new();
    for mut document in parse_documents(OBJECT_SOURCE, text) {
        let is_list = document.content.as_ref().is_ok_and(|value| {
            value
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List"))
                && value.get("items").is_some_and(Value::is_array)
        });
        if !is_list {
            units.push(Unit {
                document,
                item: None,
            });
            continue;
        }
        let items = match document.content.as_mut() {
            Ok(Value::Object(map)) => match map.remove("items") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        for (index, item) in items.into_iter().enumerate() {
            units.push(Unit {
                document: Document {
                    source: document.source.clone(),
                    index: document.index,
                    line: document.line,
                    content: Ok(item),
                    error_at: None,
                },
                item: Some(index),
            });
        }
    }
    let count = units.len();
    AUDIT.with(|audit| {
        *audit.borrow_mut() = Some(Audit {
            settings,
            parsed,
            cluster,
            units,
            next: 0,
            results: Vec::with_capacity(count),
            origin: Vec::with_capacity(count),
        });
    });
    Ok(count)
}

/// Judges the next `count` objects of the audit; answers how many are done.
#[wasm_bindgen]
pub fn audit_step(count: usize) -> usize {
    AUDIT.with(|audit| {
        let mut audit = audit.borrow_mut();
        let Some(audit) = audit.as_mut() else {
            return 0;
        };
        let end = audit.next.saturating_add(count).min(audit.units.len());
        let options = Options::default();
        for index in audit.next..end {
            let Some(unit) = audit.units.get(index) else {
                break;
            };
            let document = Document {
                source: unit.document.source.clone(),
                index: unit.document.index,
                line: unit.document.line,
                content: unit.document.content.clone(),
                error_at: unit.document.error_at,
            };
            let before = audit.results.len();
            match &audit.cluster {
                Some(cluster) => check_document(
                    &NativeInCluster(cluster),
                    &audit.settings,
                    document,
                    &DocumentText::none(),
                    &options,
                    &mut audit.results,
                ),
                None => check_document(
                    &NativeEngine,
                    &audit.settings,
                    document,
                    &DocumentText::none(),
                    &options,
                    &mut audit.results,
                ),
            }
            let item = unit.item;
            for result in audit.results.iter_mut().skip(before) {
                if let Some(item) = item {
                    let inner = result.item.take();
                    result.item = Some(match inner {
                        Some(inner) => format!("items[{item}].{inner}"),
                        None => format!("items[{item}]"),
                    });
                }
                audit.origin.push(index);
            }
        }
        audit.next = end;
        end
    })
}

/// The audit's rows, counts and overview, as `podsec check --format json` writes them.
#[wasm_bindgen]
pub fn audit_finish() -> String {
    AUDIT.with(|audit| {
        let audit = audit.borrow();
        let Some(audit) = audit.as_ref() else {
            return json!({"results": [], "summary": Summary::default(), "overview": Overview::default()}).to_string();
        };
        json!({
            "results": audit.results,
            "summary": Summary::of(&audit.results),
            "overview": Overview::with_settings(&audit.results, Some(&audit.parsed)),
        })
        .to_string()
    })
}

/// The object of the audit's row `index`, as indented JSON; empty when there is none.
#[wasm_bindgen]
pub fn audit_object(index: usize) -> String {
    AUDIT.with(|audit| {
        let audit = audit.borrow();
        audit
            .as_ref()
            .and_then(|audit| audit.units.get(*audit.origin.get(index)?))
            .and_then(|unit| unit.document.content.as_ref().ok())
            .and_then(|value| serde_json::to_string_pretty(value).ok())
            .unwrap_or_default()
    })
}

/// The audit as a report (`policy-report`, `openreports`, `sarif`, `junit`, `json`).
#[wasm_bindgen]
pub fn audit_report(format: &str, seconds: f64) -> Result<String, String> {
    AUDIT.with(|audit| {
        let audit = audit.borrow();
        let audit = audit.as_ref().ok_or("no audit has run")?;
        let seconds = if seconds.is_finite() && seconds > 0.0 {
            seconds as u64
        } else {
            0
        };
        let context = Context::new(Some(&audit.parsed), seconds);
        let results = &audit.results;
        let value = match format {
            "policy-report" => kubernetes_reports(Flavour::PolicyReport, &context, results),
            "openreports" => kubernetes_reports(Flavour::OpenReports, &context, results),
            "sarif" => sarif(results),
            "junit" => return Ok(junit(results)),
            "json" => json!({"results": results, "summary": Summary::of(results),
                "overview": Overview::with_settings(results, Some(&audit.parsed))}),
            other => return Err(format!("no report format {other:?}")),
        };
        serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
    })
}

/// The override keys a PSA configuration file decides for itself: its `kind` turns the
/// namespace-labels mode on, so the pickers' level, version and mode do not apply.
const DECIDED_BY_A_PSA_CONFIGURATION: [&str; 3] = ["level", "version", "namespaceLabels"];

/// The settings editor's text (YAML or JSON; empty means `{}`) with the pickers' choices
/// on top, validated: as written and as read. An error is the `settings` member of the
/// answer.
fn read_settings(text: &str, overrides: &str) -> Result<(Value, Settings), Value> {
    let mut settings = if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_saphyr::from_str::<Value>(text).map_err(|e| {
            let mut problem = json!({
                "valid": false,
                "message": format!("invalid YAML: {}", yaml_error_text(&e)),
            });
            if let Some(at) = e.location() {
                set(&mut problem, "line", json!(at.line()));
                set(&mut problem, "column", json!(at.column().max(1)));
            }
            problem
        })?
    };
    if settings.is_null() {
        settings = Value::Object(Map::new());
    }
    let overrides: Value = serde_json::from_str(overrides).unwrap_or(Value::Null);
    if let (Value::Object(target), Value::Object(picked)) = (&mut settings, overrides) {
        let configuration = target.contains_key("kind");
        for (key, value) in picked {
            if configuration && DECIDED_BY_A_PSA_CONFIGURATION.contains(&key.as_str()) {
                continue;
            }
            if value.is_null() {
                target.remove(&key);
            } else {
                target.insert(key, value);
            }
        }
    }
    match Settings::from_value(&settings) {
        Ok(read) => Ok((settings, read)),
        Err(error) => {
            let mut problem = json!({"valid": false, "message": error.message()});
            // Point at the field at fault (or its nearest parent) in the settings text.
            let at = error
                .settings_path()
                .filter(|path| !path.as_str().is_empty())
                .and_then(|path| Locator::new(text, 1)?.locate(0, path));
            if let Some(at) = at {
                set(&mut problem, "line", json!(at.line));
                set(&mut problem, "column", json!(at.column));
                set(&mut problem, "field", json!(error.settings_path()));
            }
            Err(problem)
        }
    }
}

fn set(target: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = target {
        if !value.is_null() {
            map.insert(key.to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVILEGED: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: app
      image: nginx
      securityContext:
        privileged: true
";

    fn results(answer: &Value) -> &Vec<Value> {
        answer["results"].as_array().unwrap()
    }

    #[test]
    fn a_privileged_pod_is_denied_with_its_line() {
        let answer = evaluate_text(PRIVILEGED, "", "{}");
        let result = &results(&answer)[0];
        assert_eq!(result["allowed"], false);
        assert_eq!(
            result["message"],
            "violates PodSecurity \"baseline:latest\": privileged (container \"app\" must not set securityContext.privileged=true)"
        );
        let violation = &result["violations"][0];
        assert_eq!(violation["check"], "privileged");
        assert_eq!(
            (violation["line"].as_u64(), violation["exact"].as_bool()),
            (Some(10), Some(true))
        );
    }

    #[test]
    fn pickers_win_over_the_settings_text() {
        let answer = evaluate_text(
            PRIVILEGED,
            "level: privileged\n",
            r#"{"level": "restricted"}"#,
        );
        assert_eq!(answer["settings"]["effective"]["level"], "restricted");
        let checks: Vec<&str> = results(&answer)[0]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["check"].as_str().unwrap())
            .collect();
        assert!(
            checks.contains(&"privileged") && checks.contains(&"runAsNonRoot"),
            "{checks:?}"
        );
        let none = evaluate_text(
            PRIVILEGED,
            "preset: azure-baseline\n",
            r#"{"preset": null}"#,
        );
        assert!(none["settings"]["effective"].get("preset").is_none());
    }

    #[test]
    fn missing_fields_point_at_their_parent() {
        let answer = evaluate_text(PRIVILEGED, "", r#"{"level": "restricted"}"#);
        let non_root = results(&answer)[0]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["check"] == "runAsNonRoot")
            .cloned()
            .unwrap();
        assert_eq!(non_root["exact"], false);
        assert_eq!(non_root["line"], 9);
    }

    #[test]
    fn documents_lists_and_parse_errors() {
        let text = format!("{PRIVILEGED}---\nkind: Pod\nspec: [unclosed\n---\nkind: List\nitems:\n  - kind: Pod\n    metadata: {{name: b}}\n    spec:\n      hostPID: true\n      containers: [{{name: c, image: x}}]\n");
        let answer = evaluate_text(&text, "", "{}");
        let all = results(&answer);
        assert_eq!(all.len(), 3);
        assert!(
            all[1]["error"].as_str().unwrap().contains("invalid YAML"),
            "{}",
            all[1]
        );
        assert!(
            matches!(all[1]["errorLine"].as_u64(), Some(12 | 13)),
            "{}",
            all[1]
        );
        assert_eq!(all[2]["violations"][0]["check"], "hostNamespaces");
        assert_eq!(all[2]["violations"][0]["line"], 20);
    }

    #[test]
    fn bad_settings_are_reported_with_their_position() {
        let answer = evaluate_text(PRIVILEGED, "level: [x\n", "{}");
        assert_eq!(answer["settings"]["valid"], false);
        assert!(answer["settings"]["line"].is_u64(), "{answer}");
        let answer = evaluate_text(
            PRIVILEGED,
            "level: restricted\nallowedHostPaths:\n  - pathPrefix: var/log\n",
            "{}",
        );
        assert_eq!(answer["settings"]["valid"], false);
        assert_eq!(answer["settings"]["line"], 3, "{answer}");
        assert_eq!(
            answer["settings"]["field"],
            "allowedHostPaths[0].pathPrefix"
        );
        let answer = evaluate_text(PRIVILEGED, "levle: restricted\n", "{}");
        assert_eq!(answer["settings"]["line"], 1, "{answer}");
        assert!(answer["settings"]["message"]
            .as_str()
            .unwrap()
            .contains("levle"));
        assert!(results(&answer).is_empty());
    }

    const SHOP: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/warn: restricted
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: app
      image: nginx
";

    #[test]
    fn namespace_labels_come_from_the_namespaces_in_the_editor() {
        let answer = evaluate_text(SHOP, "", r#"{"namespaceLabels": true}"#);
        assert_eq!(answer["settings"]["namespaceLabels"], true);
        let all = results(&answer);
        assert_eq!(all.len(), 2, "{answer}");
        // The Namespace is a CREATE of valid labels; the pod is judged at its labels.
        assert_eq!(all[0]["kind"], "Namespace");
        assert_eq!(all[0]["allowed"], true);
        let pod = &all[1];
        assert_eq!(pod["allowed"], true, "{pod}");
        assert_eq!(
            pod["policy"],
            "enforce=baseline:latest, audit=privileged:latest, warn=restricted:latest"
        );
        let warning = pod["warnings"][0].as_str().unwrap();
        assert!(
            warning.starts_with("would violate PodSecurity \"restricted:latest\": "),
            "{warning}"
        );
        assert_eq!(pod["annotations"]["enforce-policy"], "baseline:latest");
        // The same text in the fixed-level mode: no policy, no annotations.
        let fixed = evaluate_text(SHOP, "", r#"{"level": "baseline"}"#);
        assert_eq!(fixed["settings"]["namespaceLabels"], false);
        assert!(results(&fixed)[1].get("policy").is_none());
        assert!(results(&fixed)[1].get("annotations").is_none());
    }

    #[test]
    fn a_pod_whose_namespace_is_not_in_the_editor_gets_psas_lookup_error() {
        let pod = SHOP.split("---\n").nth(1).unwrap();
        let answer = evaluate_text(pod, "", r#"{"namespaceLabels": true}"#);
        let result = &results(&answer)[0];
        assert_eq!(result["allowed"], false);
        assert!(
            result["message"]
                .as_str()
                .unwrap()
                .starts_with("failed to lookup namespace \"shop\""),
            "{result}"
        );
    }

    #[test]
    fn a_psa_configuration_decides_the_mode_whatever_the_pickers_say() {
        let configuration = "\
apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
defaults:
  enforce: restricted
";
        let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: open}\n---\n".to_owned()
            + PRIVILEGED
                .replace("name: web", "name: web\n  namespace: open")
                .as_str();
        let answer = evaluate_text(
            &text,
            configuration,
            r#"{"level": "baseline", "version": "v1.20"}"#,
        );
        assert_eq!(answer["settings"]["valid"], true, "{answer}");
        assert_eq!(answer["settings"]["namespaceLabels"], true);
        let pod = &results(&answer)[1];
        assert_eq!(pod["allowed"], false);
        assert!(
            pod["message"]
                .as_str()
                .unwrap()
                .starts_with("violates PodSecurity \"restricted:latest\""),
            "{pod}"
        );
    }

    #[test]
    fn reports_are_podsec_checks() {
        let list: Value = serde_json::from_str(
            &report(
                SHOP,
                "",
                r#"{"level": "restricted"}"#,
                "policy-report",
                1.8e9,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(list["kind"], "List");
        let shop = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["metadata"]["namespace"] == "shop")
            .unwrap();
        assert_eq!(shop["kind"], "PolicyReport");
        assert_eq!(
            shop["results"][0]["timestamp"]["seconds"],
            1_800_000_000_u64
        );
        assert!(shop["summary"]["fail"].as_u64().unwrap() > 0, "{shop}");
        let sarif: Value =
            serde_json::from_str(&report(PRIVILEGED, "", "{}", "sarif", 0.0).unwrap()).unwrap();
        let region = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 10);
        assert!(report(PRIVILEGED, "", "{}", "junit", 0.0)
            .unwrap()
            .contains("<failure type=\"denied\""));
        assert!(report(PRIVILEGED, "level: [x\n", "{}", "sarif", 0.0)
            .unwrap_err()
            .starts_with("the settings are not valid"));
        assert_eq!(
            report(PRIVILEGED, "", "{}", "csv", 0.0).unwrap_err(),
            "no report format \"csv\""
        );
    }

    #[test]
    fn about_lists_versions_newest_first() {
        let about = about_value();
        assert_eq!(about["versions"][0], "latest");
        assert_eq!(about["versions"][1], about["pss"]);
        assert_eq!(
            about["checks"].as_array().unwrap().len(),
            CheckId::all().count()
        );
    }

    #[test]
    fn many_violations_in_a_large_pod_are_located_in_one_pass() {
        let mut text = String::from("kind: Pod\nmetadata: {name: big}\nspec:\n  containers:\n");
        for i in 0..60 {
            text.push_str(&format!(
                "    - name: c{i}\n      image: nginx\n      securityContext:\n        privileged: true\n"
            ));
        }
        let answer = evaluate_text(&text, "", r#"{"level": "restricted"}"#);
        let violations = results(&answer)[0]["violations"].as_array().unwrap();
        assert!(violations.len() > 200, "{}", violations.len());
        let last = violations
            .iter()
            .rev()
            .find(|v| v["check"] == "privileged")
            .unwrap();
        assert_eq!(
            last["path"],
            "spec.containers[59].securityContext.privileged"
        );
        assert_eq!(last["line"], 4 + 59 * 4 + 4);
        assert!(violations.iter().all(|v| v["line"].is_u64()));
    }
}
