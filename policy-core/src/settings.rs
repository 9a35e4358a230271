//! podsec's settings: which level and version to enforce, what to exempt, and the
//! refinements of individual checks. Every field is optional; validation rejects unknown
//! fields and bad values with a message that names the field and what it accepts.
//!
//! `docs/SETTINGS.md` describes each field with an example.

use crate::catalog::{
    AZURE_BASELINE_CHECKS, AZURE_BASELINE_EXCLUDED_NAMESPACES, AZURE_BASELINE_EXTRA_CAPABILITY,
    STANDARD_CAPABILITIES,
};
use crate::checks::{AllowedHostPath, CheckParams};
use crate::error::SettingsError;
use crate::exemptions::CheckExemption;
use crate::fix::FixOptions;
use crate::namespace_policy::{LevelVersion, NamespacePolicy, LEVEL_ERROR, VERSION_ERROR};
use crate::selector::{LabelSelector, Operator, Requirement};
use crate::{CheckId, Error, FieldPath, Level, PolicyVersion};
use serde_json::{Map, Value};

/// What happens to a request that violates the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effect {
    /// Reject it.
    #[default]
    Deny,
    /// Accept it, with the violations as warnings and an audit annotation.
    Audit,
}

/// A named bundle of defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The defaults of Azure Policy's initiative "Kubernetes cluster pod security baseline
    /// standards for Linux-based workloads".
    AzureBaseline,
}

impl Preset {
    /// The preset's name in settings.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::AzureBaseline => "azure-baseline",
        }
    }
}

/// Validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `level`.
    pub level: Level,
    /// `version`.
    pub version: PolicyVersion,
    /// `preset`.
    pub preset: Option<Preset>,
    /// `effect`.
    pub effect: Effect,
    /// `disabledChecks`.
    pub disabled_checks: Vec<CheckId>,
    /// `excludedNamespaces` (patterns).
    pub excluded_namespaces: Vec<String>,
    /// `namespaces` (patterns); empty means every namespace.
    pub namespaces: Vec<String>,
    /// `labelSelector`.
    pub label_selector: Option<LabelSelector>,
    /// `excludedUsernames`.
    pub excluded_usernames: Vec<String>,
    /// `excludedRuntimeClasses`.
    pub excluded_runtime_classes: Vec<String>,
    /// `excludedContainers`.
    pub excluded_containers: Vec<String>,
    /// `excludedImages` (exact, or a prefix when ending in `*`).
    pub excluded_images: Vec<String>,
    /// The check refinements: `allowedCapabilities`, `requiredDropCapabilities`,
    /// `allowedHostPaths`, `allowHostNetwork`, `minPort`, `maxPort`.
    pub params: CheckParams,
    /// `namespaceLabels`: the levels come from each namespace's Pod Security labels, as
    /// Pod Security Admission reads them, instead of `level` and `version`.
    pub namespace_labels: bool,
    /// `defaults`: PSA's defaults for the modes a namespace does not label.
    pub defaults: NamespacePolicy,
    /// `enforceWorkloads`: whether workload objects are denied in enforce mode (podsec's
    /// default) or only warned about and audited (PSA's behaviour).
    pub enforce_workloads: bool,
    /// `kubernetesVersion`: the cluster's minor version, what `latest` means.
    pub kubernetes_minor: Option<u32>,
    /// `exemptions` given as a list: exemptions scoped to checks (and images, containers,
    /// namespaces, values). PSA's `exemptions` object fills the fields above instead.
    pub check_exemptions: Vec<CheckExemption>,
    /// `mutate`: the mutating mode. A request the safe fixes (and the needs-review ones,
    /// with `fix.includeReview`) make pass is accepted with the fixed object.
    pub mutate: bool,
    /// `fix`: how far fixes go (`includeReview`, `runAsUser`), for the mutating mode and
    /// `podsec fix`.
    pub fix: FixOptions,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            level: Level::Baseline,
            version: PolicyVersion::latest(),
            preset: None,
            effect: Effect::Deny,
            disabled_checks: Vec::new(),
            excluded_namespaces: Vec::new(),
            namespaces: Vec::new(),
            label_selector: None,
            excluded_usernames: Vec::new(),
            excluded_runtime_classes: Vec::new(),
            excluded_containers: Vec::new(),
            excluded_images: Vec::new(),
            params: CheckParams::default(),
            namespace_labels: false,
            defaults: NamespacePolicy::privileged(&PolicyVersion::latest()),
            enforce_workloads: true,
            kubernetes_minor: None,
            check_exemptions: Vec::new(),
            mutate: false,
            fix: FixOptions::default(),
        }
    }
}

// The reader below walks a `serde_json::Value` by hand, with this one field list, instead of
// deserializing a `#[serde(deny_unknown_fields)]` struct: derived Deserialize impls for the
// raw settings (18 fields, the selector and host-path shapes) alone made dist/podsec.wasm
// 30.8 KB larger (388,365 -> 419,182 bytes, `make module`), past the 400 KB budget, and
// their errors ("invalid type: integer `1`, expected a string") name no field; the hand
// reader's messages do, and each error carries the field's path (`SettingsError`).

/// Every field the settings accept, in documentation order.
pub const FIELDS: [&str; 27] = [
    "level",
    "version",
    "preset",
    "effect",
    "disabledChecks",
    "excludedNamespaces",
    "namespaces",
    "labelSelector",
    "excludedUsernames",
    "excludedRuntimeClasses",
    "excludedContainers",
    "excludedImages",
    "allowedCapabilities",
    "requiredDropCapabilities",
    "allowedHostPaths",
    "allowHostNetwork",
    "minPort",
    "maxPort",
    "namespaceLabels",
    "defaults",
    "exemptions",
    "enforceWorkloads",
    "kubernetesVersion",
    "mutate",
    "fix",
    "apiVersion",
    "kind",
];

/// The apiVersions of PSA's `PodSecurityConfiguration`, newest first.
pub const PSA_CONFIG_VERSIONS: [&str; 3] = [
    "pod-security.admission.config.k8s.io/v1",
    "pod-security.admission.config.k8s.io/v1beta1",
    "pod-security.admission.config.k8s.io/v1alpha1",
];

/// The apiVersion of the API server's `AdmissionConfiguration`.
pub const ADMISSION_CONFIG_VERSION: &str = "apiserver.config.k8s.io/v1";

/// A settings error at `path` (the field's path in the settings document, empty for the
/// document itself), so an editor can point at the line.
fn invalid(path: String, message: String) -> Error {
    Error::InvalidSettings(SettingsError {
        path: FieldPath::new(&path),
        message,
    })
}

/// The settings most deployments give, read straight from the text: `{"level": "…"}` with
/// or without `"version"`, or the namespace-labels mode's `{"namespaceLabels": true}`.
/// Every other document, valid or not, is `None` and is read as a JSON value, which gives
/// the same settings and every error message: another field, a value that is not a string
/// without escapes (or for `namespaceLabels`, `true` or `false`), a level or version that
/// does not parse, fields that conflict, anything that is not one plain JSON object.
fn plain_settings(text: &str) -> Option<Settings> {
    let mut rest = PlainJson(text);
    let (mut level, mut version, mut labels) = (None, None, None);
    rest.expect('{')?;
    loop {
        let key = rest.string()?;
        rest.expect(':')?;
        // A key given twice keeps its last value, as a JSON value's map does.
        match key {
            "level" => level = Some(Level::parse(rest.string()?)?),
            "version" => version = Some(PolicyVersion::parse(rest.string()?)?),
            "namespaceLabels" => labels = Some(rest.boolean()?),
            _ => return None,
        }
        if rest.expect('}').is_some() {
            break;
        }
        rest.expect(',')?;
    }
    rest.skip_space();
    if !rest.0.is_empty() {
        return None;
    }
    let mut settings = Settings::default();
    let mut explicit = Vec::with_capacity(3);
    if let Some(level) = level {
        settings.level = level;
        explicit.push("level");
    }
    if let Some(version) = version {
        settings.version = version;
        explicit.push("version");
    }
    if let Some(labels) = labels {
        settings.namespace_labels = labels;
        explicit.push("namespaceLabels");
    }
    settings.finish(&explicit, None, None).ok()?;
    Some(settings)
}

/// The unread rest of a JSON text, for [`plain_settings`].
struct PlainJson<'a>(&'a str);

impl<'a> PlainJson<'a> {
    /// Steps over JSON's whitespace (not every ASCII space: JSON has four).
    fn skip_space(&mut self) {
        self.0 = self.0.trim_start_matches([' ', '\t', '\n', '\r']);
    }

    /// Steps over whitespace and then `wanted`, or is `None`.
    fn expect(&mut self, wanted: char) -> Option<()> {
        self.skip_space();
        self.0 = self.0.strip_prefix(wanted)?;
        Some(())
    }

    /// Whitespace, then `true` or `false`, or `None`.
    fn boolean(&mut self) -> Option<bool> {
        self.skip_space();
        for (word, value) in [("true", true), ("false", false)] {
            if let Some(rest) = self.0.strip_prefix(word) {
                self.0 = rest;
                return Some(value);
            }
        }
        None
    }

    /// A string with no escapes and no control characters, or `None`.
    fn string(&mut self) -> Option<&'a str> {
        self.expect('"')?;
        let end = self.0.find(['"', '\\'].as_slice())?;
        let inside = self.0.get(..end)?;
        if inside.chars().any(char::is_control) {
            return None;
        }
        self.0 = self.0.get(end..)?.strip_prefix('"')?;
        Some(inside)
    }
}

/// A short description of a JSON value's type, for messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn expect_str<'v>(field: &str, value: &'v Value) -> Result<&'v str, Error> {
    value.as_str().ok_or_else(|| {
        invalid(
            field.to_owned(),
            format!("{field} must be a string, not {}", type_name(value)),
        )
    })
}

fn expect_bool(field: &str, value: &Value) -> Result<bool, Error> {
    value.as_bool().ok_or_else(|| {
        invalid(
            field.to_owned(),
            format!("{field} must be true or false, not {}", type_name(value)),
        )
    })
}

fn expect_strings(field: &str, value: &Value) -> Result<Vec<String>, Error> {
    let Value::Array(items) = value else {
        return Err(invalid(
            field.to_owned(),
            format!(
                "{field} must be a list of strings, not {}",
                type_name(value)
            ),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let text = expect_str(&format!("{field}[{i}]"), item)?;
            if text.is_empty() {
                return Err(invalid(
                    format!("{field}[{i}]"),
                    format!("{field}[{i}] must not be empty"),
                ));
            }
            Ok(text.to_owned())
        })
        .collect()
}

fn expect_port(field: &str, value: &Value) -> Result<i64, Error> {
    expect_number(field, value, 0..=65535, "a whole number from 0 to 65535")
}

/// A whole number in `range`; the error says the field must be `what`.
fn expect_number(
    field: &str,
    value: &Value,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> Result<i64, Error> {
    match value.as_i64() {
        Some(number) if range.contains(&number) => Ok(number),
        _ => Err(invalid(
            field.to_owned(),
            format!(
                "{field} must be {what}, not {}",
                match value {
                    Value::Number(n) => n.to_string(),
                    other => type_name(other).to_owned(),
                }
            ),
        )),
    }
}

/// `fix`: `{includeReview: bool, runAsUser: int}`.
fn parse_fix(value: &Value) -> Result<FixOptions, Error> {
    let Value::Object(map) = value else {
        return Err(invalid(
            "fix".to_owned(),
            format!(
                "fix must be an object with includeReview and runAsUser, not {}",
                type_name(value)
            ),
        ));
    };
    let mut options = FixOptions::default();
    for (key, value) in map {
        match key.as_str() {
            _ if value.is_null() => {}
            "includeReview" => options.include_review = expect_bool("fix.includeReview", value)?,
            "runAsUser" => {
                options.run_as_user = Some(expect_number(
                    "fix.runAsUser",
                    value,
                    1..=2_147_483_647,
                    "a user id from 1 to 2147483647 (not root)",
                )?)
            }
            other => {
                return Err(invalid(
                    format!("fix.{other}"),
                    format!(
                        "fix.{other} is not a field of fix; it has includeReview and runAsUser"
                    ),
                ))
            }
        }
    }
    Ok(options)
}

/// Checks a name pattern: exact, `prefix*`, `*suffix` or `*`.
fn expect_patterns(field: &str, value: &Value) -> Result<Vec<String>, Error> {
    let patterns = expect_strings(field, value)?;
    for (i, pattern) in patterns.iter().enumerate() {
        let inner = pattern.trim_start_matches('*').trim_end_matches('*');
        if inner.contains('*')
            || (pattern.starts_with('*') && pattern.ends_with('*') && pattern.len() > 1)
        {
            return Err(invalid(
                format!("{field}[{i}]"),
                format!(
                    "{field}[{i}] {pattern:?}: a pattern is a name, \"prefix*\" or \"*suffix\""
                ),
            ));
        }
    }
    Ok(patterns)
}

/// Whether `name` matches a pattern: exact, `prefix*`, `*suffix`, or `*` for anything.
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        true
    } else if let Some(prefix) = pattern.strip_suffix('*') {
        name.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        name.ends_with(suffix)
    } else {
        pattern == name
    }
}

fn parse_level(value: &Value) -> Result<Level, Error> {
    let text = expect_str("level", value)?;
    Level::parse(text).ok_or_else(|| {
        invalid(
            "level".to_owned(),
            format!(
                "level {text:?} is not a level: use \"privileged\", \"baseline\" or \"restricted\""
            ),
        )
    })
}

fn parse_version(value: &Value) -> Result<PolicyVersion, Error> {
    let text = expect_str("version", value)?;
    PolicyVersion::parse(text).ok_or_else(|| {
        invalid(
            "version".to_owned(),
            format!(
"version {text:?} is not a policy version: use \"latest\" or \"v1.N\" (v1.0 to v1.{})",
            crate::LATEST_MINOR
        ),
        )
    })
}

fn parse_effect(value: &Value) -> Result<Effect, Error> {
    let text = expect_str("effect", value)?;
    match text.to_ascii_lowercase().as_str() {
        "deny" => Ok(Effect::Deny),
        "audit" => Ok(Effect::Audit),
        _ => Err(invalid(
            "effect".to_owned(),
            format!("effect {text:?} is not an effect: use \"deny\" or \"audit\""),
        )),
    }
}

fn parse_preset(value: &Value) -> Result<Preset, Error> {
    let text = expect_str("preset", value)?;
    match text {
        "azure-baseline" => Ok(Preset::AzureBaseline),
        _ => Err(invalid(
            "preset".to_owned(),
            format!("preset {text:?} is not a preset: the only preset is \"azure-baseline\""),
        )),
    }
}

fn parse_checks(field: &str, value: &Value) -> Result<Vec<CheckId>, Error> {
    let names = expect_strings(field, value)?;
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            CheckId::parse(name).ok_or_else(|| {
                let known: Vec<&str> = CheckId::all().map(CheckId::as_str).collect();
                invalid(
                    format!("{field}[{i}]"),
                    format!(
                        "{field}[{i}] {name:?} is not a check id; the ids are {}",
                        known.join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// `exemptions` as a list: each entry names the checks it exempts from and narrows them
/// by image patterns, container names, namespace patterns and values.
fn parse_check_exemptions(items: &[Value]) -> Result<Vec<CheckExemption>, Error> {
    let mut exemptions = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("exemptions[{i}]");
        let Value::Object(entry) = item else {
            return Err(invalid(
                at.clone(),
                format!(
                    "{at} must be an object with checks and any of images, containers, namespaces and values, not {}",
                    type_name(item)
                ),
            ));
        };
        let mut exemption = CheckExemption::default();
        for (key, value) in entry {
            let field = format!("{at}.{key}");
            if value.is_null() {
                continue;
            }
            match key.as_str() {
                "checks" => exemption.checks = parse_checks(&field, value)?,
                "images" => exemption.images = expect_strings(&field, value)?,
                "containers" => exemption.containers = expect_strings(&field, value)?,
                "namespaces" => exemption.namespaces = expect_patterns(&field, value)?,
                "values" => exemption.values = expect_values(&field, value)?,
                other => {
                    return Err(invalid(
                        field.clone(),
                        format!("{at} has unknown field {other:?}: use checks, images, containers, namespaces and values"),
                    ))
                }
            }
        }
        if exemption.checks.is_empty() {
            return Err(invalid(
                format!("{at}.checks"),
                format!("{at}.checks is required: the check ids this exemption applies to (use disabledChecks to turn a check off everywhere)"),
            ));
        }
        for (j, pattern) in exemption.images.iter().enumerate() {
            if pattern.is_empty() {
                return Err(invalid(
                    format!("{at}.images[{j}]"),
                    format!("{at}.images[{j}] is empty: give an image or a pattern with *"),
                ));
            }
        }
        exemptions.push(exemption);
    }
    Ok(exemptions)
}

/// A list of values compared with the fields' values as text: strings, numbers, booleans.
fn expect_values(field: &str, value: &Value) -> Result<Vec<String>, Error> {
    let Value::Array(items) = value else {
        return Err(invalid(
            field.to_owned(),
            format!("{field} must be a list of values, not {}", type_name(value)),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match crate::exemptions::value_text(item) {
            Some(text) => Ok(text.into_owned()),
            None => Err(invalid(
                format!("{field}[{i}]"),
                format!(
                    "{field}[{i}] must be a string, a number or a boolean, not {}",
                    type_name(item)
                ),
            )),
        })
        .collect()
}

fn parse_host_paths(value: &Value) -> Result<Vec<AllowedHostPath>, Error> {
    let Value::Array(items) = value else {
        return Err(invalid(
            "allowedHostPaths".to_owned(),
            format!(
                "allowedHostPaths must be a list of {{pathPrefix, readOnly}} objects, not {}",
                type_name(value)
            ),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = format!("allowedHostPaths[{i}]");
            let Value::Object(entry) = item else {
                return Err(invalid(
                    field.to_owned(),
                    format!(
                        "{field} must be an object with pathPrefix and readOnly, not {}",
                        type_name(item)
                    ),
                ));
            };
            let mut path_prefix = None;
            let mut read_only = false;
            for (key, value) in entry {
                match key.as_str() {
                    "pathPrefix" => {
                        let path = expect_str(&format!("{field}.pathPrefix"), value)?;
                        if !path.starts_with('/') {
                            return Err(invalid(
                                format!("{field}.pathPrefix"),
                                format!(
"{field}.pathPrefix {path:?} must be an absolute path (start with \"/\")"
                            ),
                            ));
                        }
                        path_prefix = Some(path.to_owned());
                    }
                    "readOnly" => read_only = expect_bool(&format!("{field}.readOnly"), value)?,
                    other => {
                        return Err(invalid(
                            field.to_owned(),
                            format!(
                                "{field} has unknown field {other:?}: use pathPrefix and readOnly"
                            ),
                        ))
                    }
                }
            }
            let path_prefix = path_prefix.ok_or_else(|| {
                invalid(
                    format!("{field}.pathPrefix"),
                    format!("{field}.pathPrefix is required"),
                )
            })?;
            Ok(AllowedHostPath {
                path_prefix,
                read_only,
            })
        })
        .collect()
}

fn parse_label_selector(value: &Value) -> Result<LabelSelector, Error> {
    let Value::Object(map) = value else {
        return Err(invalid(
            "labelSelector".to_owned(),
            format!(
                "labelSelector must be an object with matchLabels and/or matchExpressions, not {}",
                type_name(value)
            ),
        ));
    };
    let mut selector = LabelSelector::default();
    for (key, value) in map {
        match key.as_str() {
            "matchLabels" => {
                let Value::Object(labels) = value else {
                    return Err(invalid(
                        "labelSelector.matchLabels".to_owned(),
                        format!(
                            "labelSelector.matchLabels must be an object of strings, not {}",
                            type_name(value)
                        ),
                    ));
                };
                for (k, v) in labels {
                    let v = expect_str(&format!("labelSelector.matchLabels.{k}"), v)?;
                    selector.match_labels.push((k.clone(), v.to_owned()));
                }
            }
            "matchExpressions" => {
                let Value::Array(items) = value else {
                    return Err(invalid(
                        "labelSelector.matchExpressions".to_owned(),
                        format!(
                            "labelSelector.matchExpressions must be a list, not {}",
                            type_name(value)
                        ),
                    ));
                };
                for (i, item) in items.iter().enumerate() {
                    selector.match_expressions.push(parse_requirement(
                        &format!("labelSelector.matchExpressions[{i}]"),
                        item,
                    )?);
                }
            }
            other => {
                return Err(invalid(
                    "labelSelector".to_owned(),
                    format!(
"labelSelector has unknown field {other:?}: use matchLabels and matchExpressions"
            ),
                ))
            }
        }
    }
    Ok(selector)
}

fn parse_requirement(field: &str, value: &Value) -> Result<Requirement, Error> {
    let Value::Object(map) = value else {
        return Err(invalid(
            field.to_owned(),
            format!(
                "{field} must be an object with key, operator and values, not {}",
                type_name(value)
            ),
        ));
    };
    let mut key = None;
    let mut operator = None;
    let mut values = Vec::new();
    for (name, value) in map {
        match name.as_str() {
            "key" => key = Some(expect_str(&format!("{field}.key"), value)?.to_owned()),
            "operator" => {
                let text = expect_str(&format!("{field}.operator"), value)?;
                operator = Some(match text {
                    "In" => Operator::In,
                    "NotIn" => Operator::NotIn,
                    "Exists" => Operator::Exists,
                    "DoesNotExist" => Operator::DoesNotExist,
                    _ => {
                        return Err(invalid(
                            format!("{field}.operator"),
                            format!(
"{field}.operator {text:?} is not an operator: use In, NotIn, Exists or DoesNotExist"
                        ),
                        ))
                    }
                });
            }
            "values" => values = expect_strings(&format!("{field}.values"), value)?,
            other => {
                return Err(invalid(
                    field.to_owned(),
                    format!("{field} has unknown field {other:?}: use key, operator and values"),
                ))
            }
        }
    }
    let key =
        key.ok_or_else(|| invalid(format!("{field}.key"), format!("{field}.key is required")))?;
    let operator = operator.ok_or_else(|| {
        invalid(
            format!("{field}.operator"),
            format!("{field}.operator is required"),
        )
    })?;
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => Err(invalid(
            format!("{field}.values"),
            format!("{field}.values must not be empty for operator In or NotIn"),
        )),
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => Err(invalid(
            format!("{field}.values"),
            format!("{field}.values must be empty for operator Exists or DoesNotExist"),
        )),
        _ => Ok(Requirement {
            key,
            operator,
            values,
        }),
    }
}

impl Settings {
    /// Parses and validates settings from JSON bytes (`null` or empty input means defaults).
    pub fn from_slice(bytes: &[u8]) -> Result<Settings, Error> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| invalid(String::new(), format!("settings are not UTF-8: {e}")))?;
        Settings::from_json(text)
    }

    /// Parses and validates settings from JSON text (`null` or empty input means defaults).
    /// Read with serde_json's string reader, as requests are: one reader type keeps one
    /// copy of the JSON parser in the module.
    pub fn from_json(text: &str) -> Result<Settings, Error> {
        if text.bytes().all(|b| b.is_ascii_whitespace()) {
            return Ok(Settings::default());
        }
        match plain_settings(text) {
            Some(settings) => Ok(settings),
            None => Settings::from_json_value(text),
        }
    }

    /// [`Settings::from_json`] for any document: read into a JSON value, then read.
    fn from_json_value(text: &str) -> Result<Settings, Error> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| invalid(String::new(), format!("settings are not valid JSON: {e}")))?;
        Settings::from_value(&value)
    }

    /// Parses and validates settings from a JSON value (`null` means defaults).
    pub fn from_value(value: &Value) -> Result<Settings, Error> {
        let empty = Map::new();
        let map = match value {
            Value::Null => &empty,
            Value::Object(map) => map,
            other => {
                return Err(invalid(
                    String::new(),
                    format!("settings must be an object, not {}", type_name(other)),
                ))
            }
        };
        if map.get("kind").and_then(Value::as_str) == Some("AdmissionConfiguration") {
            return from_admission_configuration(map);
        }
        let mut settings = Settings::default();
        let mut explicit: Vec<&str> = Vec::with_capacity(map.len());
        let mut defaults = None;
        let mut exemptions = None;
        for (key, value) in map {
            // An explicit null is the same as leaving the field out.
            if value.is_null() {
                if !FIELDS.contains(&key.as_str()) {
                    return Err(unknown_field(key));
                }
                continue;
            }
            match key.as_str() {
                "level" => settings.level = parse_level(value)?,
                "version" => settings.version = parse_version(value)?,
                "preset" => settings.preset = Some(parse_preset(value)?),
                "effect" => settings.effect = parse_effect(value)?,
                "disabledChecks" => {
                    settings.disabled_checks = parse_checks("disabledChecks", value)?
                }
                "excludedNamespaces" => {
                    settings.excluded_namespaces = expect_patterns("excludedNamespaces", value)?
                }
                "namespaces" => settings.namespaces = expect_patterns("namespaces", value)?,
                "labelSelector" => settings.label_selector = Some(parse_label_selector(value)?),
                "excludedUsernames" => {
                    settings.excluded_usernames = expect_strings("excludedUsernames", value)?
                }
                "excludedRuntimeClasses" => {
                    settings.excluded_runtime_classes =
                        expect_strings("excludedRuntimeClasses", value)?
                }
                "excludedContainers" => {
                    settings.excluded_containers = expect_strings("excludedContainers", value)?
                }
                "excludedImages" => {
                    settings.excluded_images = expect_strings("excludedImages", value)?
                }
                "allowedCapabilities" => {
                    settings.params.allowed_capabilities =
                        Some(expect_strings("allowedCapabilities", value)?)
                }
                "requiredDropCapabilities" => {
                    settings.params.required_drop_capabilities =
                        expect_strings("requiredDropCapabilities", value)?
                }
                "allowedHostPaths" => settings.params.allowed_host_paths = parse_host_paths(value)?,
                "allowHostNetwork" => {
                    settings.params.allow_host_network = expect_bool("allowHostNetwork", value)?
                }
                "minPort" => settings.params.min_port = expect_port("minPort", value)?,
                "maxPort" => settings.params.max_port = expect_port("maxPort", value)?,
                "namespaceLabels" => {
                    settings.namespace_labels = expect_bool("namespaceLabels", value)?
                }
                "defaults" => defaults = Some(value),
                "exemptions" => match value {
                    Value::Array(items) => {
                        settings.check_exemptions = parse_check_exemptions(items)?
                    }
                    _ => exemptions = Some(value),
                },
                "enforceWorkloads" => {
                    settings.enforce_workloads = expect_bool("enforceWorkloads", value)?
                }
                "kubernetesVersion" => {
                    settings.kubernetes_minor = Some(parse_kubernetes_version(value)?)
                }
                "mutate" => settings.mutate = expect_bool("mutate", value)?,
                "fix" => settings.fix = parse_fix(value)?,
                "apiVersion" => {
                    let text = expect_str("apiVersion", value)?;
                    if !PSA_CONFIG_VERSIONS.contains(&text) {
                        return Err(invalid(
                            "apiVersion".to_owned(),
                            format!(
                                "apiVersion {text:?}: podsec reads a PodSecurityConfiguration ({}) or an AdmissionConfiguration ({ADMISSION_CONFIG_VERSION})",
                                PSA_CONFIG_VERSIONS.join(", ")
                            ),
                        ));
                    }
                }
                "kind" => {
                    let text = expect_str("kind", value)?;
                    if text != "PodSecurityConfiguration" {
                        return Err(invalid(
                            "kind".to_owned(),
                            format!("kind {text:?}: podsec reads a PodSecurityConfiguration or an AdmissionConfiguration"),
                        ));
                    }
                }
                other => return Err(unknown_field(other)),
            }
            explicit.push(key.as_str());
        }
        settings.finish(&explicit, defaults, exemptions)?;
        Ok(settings)
    }

    /// What every way of reading settings ends with, once the fields are read: the checks
    /// across fields, the preset and the PSA parts. `explicit` names the fields given.
    fn finish(
        &mut self,
        explicit: &[&str],
        defaults: Option<&Value>,
        exemptions: Option<&Value>,
    ) -> Result<(), Error> {
        let settings = self;
        if settings.params.min_port > settings.params.max_port {
            return Err(invalid(
                "minPort".to_owned(),
                format!(
                    "minPort ({}) must not be greater than maxPort ({})",
                    settings.params.min_port, settings.params.max_port
                ),
            ));
        }
        if settings.mutate && settings.effect == Effect::Audit {
            return Err(invalid(
                "mutate".to_owned(),
                "mutate changes objects only with effect deny: with effect audit nothing is refused, so nothing is fixed".to_owned(),
            ));
        }
        if let Some(preset) = settings.preset {
            settings.apply_preset(preset, explicit);
        }
        settings.apply_psa_configuration(explicit, defaults, exemptions)
    }

    /// What `latest` means: the pinned cluster version, or the engine's newest.
    pub fn latest(&self) -> PolicyVersion {
        match self.kubernetes_minor {
            Some(minor) => PolicyVersion::latest_at(minor),
            None => PolicyVersion::latest(),
        }
    }

    /// The PSA parts: a PodSecurityConfiguration (`kind` given) turns the namespace-labels
    /// mode on and, unless set, workloads off as PSA does; `defaults` and `exemptions` are
    /// read; `latest` is pinned; the fixed level's fields conflict with the labels mode.
    fn apply_psa_configuration(
        &mut self,
        explicit: &[&str],
        defaults: Option<&Value>,
        exemptions: Option<&Value>,
    ) -> Result<(), Error> {
        let set = |field: &str| explicit.contains(&field);
        if set("kind") || set("apiVersion") {
            if !(set("kind") && set("apiVersion")) {
                let missing = if set("kind") { "apiVersion" } else { "kind" };
                return Err(invalid(
                    missing.to_owned(),
                    format!("{missing} is required in a PodSecurityConfiguration"),
                ));
            }
            if !set("namespaceLabels") {
                self.namespace_labels = true;
            }
            if !set("enforceWorkloads") {
                self.enforce_workloads = false;
            }
        }
        let latest = self.latest();
        if self.version.is_latest() {
            self.version = latest.clone();
        }
        self.defaults = NamespacePolicy::privileged(&latest);
        if let Some(value) = defaults {
            self.defaults = parse_defaults(value, &latest)?;
        }
        if let Some(value) = exemptions {
            self.read_exemptions(value)?;
        }
        if self.namespace_labels {
            if let Some(field) = ["level", "version", "effect"].into_iter().find(|f| set(f)) {
                return Err(invalid(
                    field.to_owned(),
                    format!(
                        "{field} sets one fixed level; with namespaceLabels the levels come from each namespace's labels and from defaults"
                    ),
                ));
            }
        } else if let Some(field) = ["defaults", "enforceWorkloads"]
            .into_iter()
            .find(|f| set(f))
        {
            return Err(invalid(
                field.to_owned(),
                format!("{field} applies to the namespace-labels mode: set namespaceLabels: true"),
            ));
        }
        Ok(())
    }

    /// PSA's `exemptions`: exact usernames, namespaces and runtime classes, added to
    /// podsec's own exclusions.
    fn read_exemptions(&mut self, value: &Value) -> Result<(), Error> {
        let Value::Object(map) = value else {
            return Err(invalid(
                "exemptions".to_owned(),
                format!(
                    "exemptions must be PSA's object with usernames, namespaces and runtimeClasses, or a list of exemptions scoped to checks, not {}",
                    type_name(value)
                ),
            ));
        };
        for (key, value) in map {
            let field = format!("exemptions.{key}");
            if value.is_null() {
                continue;
            }
            let names = expect_strings(&field, value)?;
            for (i, name) in names.iter().enumerate() {
                if names.iter().take(i).any(|n| n == name) {
                    return Err(invalid(
                        format!("{field}[{i}]"),
                        format!("{field}[{i}] {name:?} is listed twice"),
                    ));
                }
            }
            match key.as_str() {
                "usernames" => self.excluded_usernames.extend(names),
                "namespaces" => {
                    for (i, name) in names.iter().enumerate() {
                        if !is_dns_label(name) {
                            return Err(invalid(
                                format!("{field}[{i}]"),
                                format!("{field}[{i}] {name:?} is not a namespace name (a lowercase RFC 1123 label)"),
                            ));
                        }
                    }
                    self.excluded_namespaces.extend(names)
                }
                "runtimeClasses" => {
                    for (i, name) in names.iter().enumerate() {
                        if !is_dns_subdomain(name) {
                            return Err(invalid(
                                format!("{field}[{i}]"),
                                format!("{field}[{i}] {name:?} is not a runtime class name (a lowercase RFC 1123 subdomain)"),
                            ));
                        }
                    }
                    self.excluded_runtime_classes.extend(names)
                }
                other => {
                    return Err(invalid(
                        field.clone(),
                        format!("exemptions has unknown field {other:?}: use usernames, namespaces and runtimeClasses"),
                    ))
                }
            }
        }
        Ok(())
    }

    /// Fills every field the user did not set with the preset's value.
    fn apply_preset(&mut self, preset: Preset, explicit: &[&str]) {
        let unset = |field: &str| !explicit.contains(&field);
        match preset {
            Preset::AzureBaseline => {
                if unset("level") {
                    self.level = Level::Baseline;
                }
                if unset("disabledChecks") {
                    self.disabled_checks = CheckId::all()
                        .filter(|c| !AZURE_BASELINE_CHECKS.contains(c))
                        .collect();
                }
                if unset("allowedCapabilities") {
                    let mut caps: Vec<String> = STANDARD_CAPABILITIES
                        .iter()
                        .map(|c| (*c).to_owned())
                        .collect();
                    caps.push(AZURE_BASELINE_EXTRA_CAPABILITY.to_owned());
                    self.params.allowed_capabilities = Some(caps);
                }
                if unset("excludedNamespaces") {
                    self.excluded_namespaces = AZURE_BASELINE_EXCLUDED_NAMESPACES
                        .iter()
                        .map(|n| (*n).to_owned())
                        .collect();
                }
            }
        }
    }

    /// `level:version` as PSA prints it, e.g. `baseline:latest`.
    pub fn policy_label(&self) -> String {
        [self.level.as_str(), ":", self.version.label()].concat()
    }
}

/// `kubernetesVersion`: `1.30`, `v1.30` or `v1.30.2` (the patch is ignored).
fn parse_kubernetes_version(value: &Value) -> Result<u32, Error> {
    let text = expect_str("kubernetesVersion", value)?;
    let bare = text.strip_prefix('v').unwrap_or(text);
    let minor = bare
        .strip_prefix("1.")
        .map(|rest| rest.split(['.', '-', '+']).next().unwrap_or(""))
        .filter(|m| !m.is_empty() && m.len() <= 4 && m.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|m| m.parse::<u32>().ok());
    minor.ok_or_else(|| {
        invalid(
            "kubernetesVersion".to_owned(),
            format!(
                "kubernetesVersion {text:?} is not a Kubernetes version: use \"1.N\" or \"v1.N\""
            ),
        )
    })
}

/// PSA's `defaults`: a level and a version for each mode, `privileged` and `latest` where
/// unset.
fn parse_defaults(value: &Value, latest: &PolicyVersion) -> Result<NamespacePolicy, Error> {
    let Value::Object(map) = value else {
        return Err(invalid(
            "defaults".to_owned(),
            format!(
                "defaults must be an object with enforce, enforce-version, audit, audit-version, warn and warn-version, not {}",
                type_name(value)
            ),
        ));
    };
    let mut policy = NamespacePolicy::privileged(latest);
    for (key, value) in map {
        let field = format!("defaults.{key}");
        if value.is_null() {
            continue;
        }
        let text = expect_str(&field, value)?;
        let slot: &mut LevelVersion = match key.as_str() {
            "enforce" | "enforce-version" => &mut policy.enforce,
            "audit" | "audit-version" => &mut policy.audit,
            "warn" | "warn-version" => &mut policy.warn,
            other => {
                return Err(invalid(
                    field.clone(),
                    format!("defaults has unknown field {other:?}: use enforce, enforce-version, audit, audit-version, warn and warn-version"),
                ))
            }
        };
        if key.ends_with("-version") {
            slot.version =
                crate::namespace_policy::parse_version_label(text, latest).ok_or_else(|| {
                    invalid(field.clone(), format!("{field} {text:?} {VERSION_ERROR}"))
                })?;
        } else {
            slot.level = Level::parse(text)
                .ok_or_else(|| invalid(field.clone(), format!("{field} {text:?} {LEVEL_ERROR}")))?;
        }
    }
    Ok(policy)
}

/// An `AdmissionConfiguration`: the `PodSecurity` plugin's inline configuration.
fn from_admission_configuration(map: &Map<String, Value>) -> Result<Settings, Error> {
    for (key, value) in map {
        match key.as_str() {
            "kind" => {}
            "apiVersion" => {
                let text = expect_str("apiVersion", value)?;
                if text != ADMISSION_CONFIG_VERSION {
                    return Err(invalid(
                        "apiVersion".to_owned(),
                        format!("apiVersion {text:?}: an AdmissionConfiguration is {ADMISSION_CONFIG_VERSION}"),
                    ));
                }
            }
            "plugins" => {}
            other => {
                return Err(invalid(
                    other.to_owned(),
                    format!(
                        "an AdmissionConfiguration has apiVersion, kind and plugins, not {other:?}"
                    ),
                ))
            }
        }
    }
    let plugins = match map.get("plugins") {
        Some(Value::Array(plugins)) => plugins,
        Some(other) => {
            return Err(invalid(
                "plugins".to_owned(),
                format!("plugins must be a list, not {}", type_name(other)),
            ))
        }
        None => &Vec::new(),
    };
    let found = plugins
        .iter()
        .enumerate()
        .find(|(_, p)| p.get("name").and_then(Value::as_str) == Some("PodSecurity"));
    let Some((index, plugin)) = found else {
        return Err(invalid(
            "plugins".to_owned(),
            "the AdmissionConfiguration has no PodSecurity plugin".to_owned(),
        ));
    };
    let prefix = format!("plugins[{index}]");
    match plugin.get("configuration") {
        Some(configuration) => Settings::from_value(configuration).map_err(|error| match error {
            Error::InvalidSettings(e) => {
                let path = if e.path.to_string().is_empty() {
                    format!("{prefix}.configuration")
                } else {
                    format!("{prefix}.configuration.{}", e.path)
                };
                invalid(path, format!("{prefix}.configuration: {}", e.message))
            }
            other => other,
        }),
        None => {
            let path = plugin.get("path").and_then(Value::as_str).unwrap_or("");
            Err(invalid(
                format!("{prefix}.configuration"),
                format!(
                    "{prefix} (PodSecurity) has no inline configuration{}: podsec reads the PodSecurityConfiguration itself, or an AdmissionConfiguration with it under configuration",
                    if path.is_empty() { String::new() } else { format!(" (it points to {path:?})") }
                ),
            ))
        }
    }
}

/// A lowercase RFC 1123 label: at most 63 characters of `a-z`, `0-9` and `-`, starting
/// and ending with a letter or digit.
fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A lowercase RFC 1123 subdomain: dot-separated labels, at most 253 characters.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}

fn unknown_field(name: &str) -> Error {
    invalid(
        name.to_owned(),
        format!(
            "unknown field {name:?}; the settings fields are {}",
            FIELDS.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Settings, Error> {
        Settings::from_value(&value)
    }

    fn message(value: Value) -> String {
        match parse(value) {
            Ok(_) => String::from("<valid>"),
            Err(e) => e.to_string(),
        }
    }

    /// Settings texts around the shapes `plain_settings` reads: each one, and every
    /// prefix and one-byte change of the plain ones, must read the same as a JSON value.
    const SETTINGS_TEXTS: &[&str] = &[
        r#"{"level":"baseline"}"#,
        r#"{"level": "restricted", "version": "v1.30"}"#,
        " \t{ \"version\" : \"latest\" ,\n\"level\":\"privileged\" }\r\n",
        r#"{"version":"v1.0"}"#,
        r#"{"level":"baseline","level":"restricted"}"#,
        r#"{"level":"baseline","version":"v1.99"}"#,
        r#"{"namespaceLabels":true}"#,
        "{ \"namespaceLabels\" :false,\"level\":\"restricted\"}",
        r#"{"namespaceLabels":false,"namespaceLabels":true}"#,
        r#"{"namespaceLabels":false}"#,
        r#"{"level":"nope","level":"restricted"}"#,
        r#"{"level":"restricted","level":"nope"}"#,
        r#"{"level":"bad"}"#,
        r#"{"level":"Baseline"}"#,
        r#"{"level":"baseline","version":"v1.012"}"#,
        r#"{"level":"baseline","version":"1.30"}"#,
        r#"{"level":"basel\u0069ne"}"#,
        r#"{"level":"baseline\""}"#,
        "{\"level\":\"base\tline\"}",
        "{\"level\":\"baseline\u{7f}\"}",
        "{\"level\":\"baseline\"}\u{c}",
        r#"{"level":"baseline"} x"#,
        r#"{"level":"baseline"}{}"#,
        r#"{"level":null}"#,
        r#"{"level":1}"#,
        r#"{"level":["baseline"]}"#,
        r#"{}"#,
        r#"{"level":"baseline",}"#,
        r#"{"level":"baseline""version":"latest"}"#,
        r#"{"level":"baseline","mode":"x"}"#,
        r#"{"level":"baseline","namespaceLabels":true}"#,
        r#"{"level":"baseline","effect":"audit"}"#,
        r#"{"Level":"baseline"}"#,
        r#"["level","baseline"]"#,
        r#""baseline""#,
        "null",
        r#"{"level":"baseline""#,
        r#"{"lével":"baseline"}"#,
        r#"{"namespaceLabels":true,"version":"v1.30"}"#,
        r#"{"namespaceLabels":"true"}"#,
        r#"{"namespaceLabels":truex}"#,
        r#"{"namespaceLabels":True}"#,
        r#"{"namespaceLabels":1}"#,
        r#"{"namespaceLabels":true,"defaults":{}}"#,
    ];

    /// How many of [`SETTINGS_TEXTS`], from the first, are read straight from the text.
    const PLAIN: usize = 10;

    fn same_as_a_json_value(text: &str) {
        let general = if text.bytes().all(|b| b.is_ascii_whitespace()) {
            Ok(Settings::default())
        } else {
            Settings::from_json_value(text)
        };
        assert_eq!(Settings::from_json(text), general, "settings text {text:?}");
    }

    #[test]
    fn plain_settings_read_as_a_json_value_does() {
        for text in SETTINGS_TEXTS {
            same_as_a_json_value(text);
        }
        let changes = [
            '"', '\\', '{', '}', ',', ':', ' ', '\t', '\n', '\u{c}', 'x', '0', '\u{7f}', 'é',
        ];
        for text in SETTINGS_TEXTS[..4].iter().chain(&SETTINGS_TEXTS[6..PLAIN]) {
            for (at, _) in text.char_indices() {
                same_as_a_json_value(&text[..at]);
                for change in changes {
                    let mut changed = String::from(&text[..at]);
                    changed.push(change);
                    changed.push_str(&text[at + 1..]);
                    same_as_a_json_value(&changed);
                }
            }
        }
    }

    #[test]
    fn only_plain_settings_take_the_short_way() {
        for text in &SETTINGS_TEXTS[..PLAIN] {
            assert!(plain_settings(text).is_some(), "{text:?}");
        }
        for text in &SETTINGS_TEXTS[PLAIN..] {
            assert!(plain_settings(text).is_none(), "{text:?}");
        }
        let read = plain_settings(SETTINGS_TEXTS[1]).unwrap_or_default();
        assert_eq!(read.level, Level::Restricted);
        assert_eq!(read.version, PolicyVersion::v1(30));
        let read = plain_settings(SETTINGS_TEXTS[6]).unwrap_or_default();
        assert!(read.namespace_labels);
        let read = plain_settings(SETTINGS_TEXTS[7]).unwrap_or_default();
        assert!(!read.namespace_labels);
        assert_eq!(read.level, Level::Restricted);
    }

    #[test]
    fn defaults_are_baseline_latest_deny() {
        let settings = parse(json!({})).expect("empty settings are valid");
        assert_eq!(settings.policy_label(), "baseline:latest");
        assert_eq!(settings.effect, Effect::Deny);
        assert_eq!(Settings::from_slice(b"null"), Ok(Settings::default()));
        assert_eq!(Settings::from_slice(b""), Ok(Settings::default()));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(message(json!({"levle": "baseline"})).contains("unknown field \"levle\""));
        assert!(message(json!({"level": "strict"})).contains("level \"strict\""));
        assert!(message(json!({"level": 3})).contains("level must be a string, not a number"));
        assert!(message(json!({"version": "1.25"})).contains("version \"1.25\""));
        assert!(message(json!({"effect": "warn"})).contains("effect \"warn\""));
        assert!(message(json!({"disabledChecks": ["privileged", "nope"]}))
            .contains("disabledChecks[1] \"nope\" is not a check id"));
        assert!(message(json!({"allowHostNetwork": "yes"}))
            .contains("allowHostNetwork must be true or false, not a string"));
        assert!(message(json!({"minPort": 9000, "maxPort": 8000}))
            .contains("minPort (9000) must not be greater than maxPort (8000)"));
        assert!(message(json!({"maxPort": 70000})).contains("maxPort must be a whole number"));
        assert!(
            message(json!({"allowedHostPaths": [{"pathPrefix": "var/log"}]}))
                .contains("allowedHostPaths[0].pathPrefix \"var/log\" must be an absolute path")
        );
        assert!(message(json!({"allowedHostPaths": [{"readOnly": true}]}))
            .contains("allowedHostPaths[0].pathPrefix is required"));
        assert!(message(json!({"excludedNamespaces": ["a*b"]})).contains("excludedNamespaces[0]"));
        assert!(message(
            json!({"labelSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}})
        )
        .contains("labelSelector.matchExpressions[0].values must not be empty"));
        assert!(message(json!({"preset": "gcp"})).contains("preset \"gcp\""));
        assert!(message(json!([1])).contains("settings must be an object, not a list"));
        assert!(Settings::from_slice(b"{oops").is_err());
        assert!(message(json!({"mutate": true, "effect": "audit"}))
            .contains("mutate changes objects only with effect deny"));
        assert!(message(json!({"mutate": "yes"})).contains("mutate must be true or false"));
        assert!(message(json!({"fix": true})).contains("fix must be an object"));
        assert!(message(json!({"fix": {"runAsUser": 0}}))
            .contains("fix.runAsUser must be a user id from 1 to 2147483647 (not root), not 0"));
        assert!(message(json!({"fix": {"includeReveiw": true}}))
            .contains("fix.includeReveiw is not a field of fix"));
        let fix = parse(json!({"mutate": true, "fix": {"includeReview": true, "runAsUser": 1000}}));
        assert!(fix
            .as_ref()
            .is_ok_and(|s| s.mutate && s.fix.include_review && s.fix.run_as_user == Some(1000)));
    }

    #[test]
    fn errors_carry_the_field_path() {
        let path = |value: Value| match parse(value) {
            Ok(_) => String::from("<valid>"),
            Err(e) => e
                .settings_path()
                .map(ToString::to_string)
                .unwrap_or_default(),
        };
        assert_eq!(path(json!({"levle": "baseline"})), "levle");
        assert_eq!(path(json!({"level": 3})), "level");
        assert_eq!(
            path(json!({"disabledChecks": ["privileged", "nope"]})),
            "disabledChecks[1]"
        );
        assert_eq!(
            path(json!({"allowedHostPaths": [{"readOnly": true}]})),
            "allowedHostPaths[0].pathPrefix"
        );
        assert_eq!(
            path(json!({"labelSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}})),
            "labelSelector.matchExpressions[0].values"
        );
        assert_eq!(path(json!({"minPort": 9000, "maxPort": 8000})), "minPort");
        assert_eq!(path(json!([1])), "");
    }

    #[test]
    fn effect_is_case_insensitive() {
        let settings = parse(json!({"effect": "Audit"})).expect("valid settings");
        assert_eq!(settings.effect, Effect::Audit);
    }

    #[test]
    fn azure_preset_fills_unset_fields_only() {
        let preset = parse(json!({"preset": "azure-baseline"})).expect("valid settings");
        assert_eq!(preset.level, Level::Baseline);
        assert_eq!(preset.disabled_checks.len(), 14);
        assert_eq!(preset.excluded_namespaces.len(), 4);
        let caps = preset.params.allowed_capabilities.unwrap_or_default();
        assert_eq!(caps.len(), 14);
        assert!(caps.iter().any(|c| c == "NET_RAW"));

        let explicit = parse(json!({"preset": "azure-baseline", "excludedNamespaces": ["ops"], "level": "restricted"}))
            .expect("valid settings");
        assert_eq!(explicit.excluded_namespaces, vec!["ops".to_owned()]);
        assert_eq!(explicit.level, Level::Restricted);
    }

    #[test]
    fn patterns() {
        assert!(matches_pattern("kube-*", "kube-system"));
        assert!(matches_pattern("*-system", "kube-system"));
        assert!(matches_pattern("*", "anything"));
        assert!(!matches_pattern("kube-*", "default"));
        assert!(matches_pattern("default", "default"));
    }
}
