//! Pod Security Admission's namespace policy: the `pod-security.kubernetes.io/*` labels of a
//! namespace, read into a level and version for each of the three modes (enforce, audit,
//! warn) with PSA's rules for what is missing or invalid.
//!
//! The rules, as upstream's `api/helpers.go` applies them:
//! - a mode without a label takes the configured default (`defaults` in a
//!   PodSecurityConfiguration; `privileged:latest` when there is none);
//! - an invalid enforce level evaluates as `restricted` (fail closed), an invalid audit or
//!   warn level as `privileged` (fail open), an invalid version as `latest`; each invalid
//!   label is also an error, reported as a Kubernetes field error;
//! - when the warn level is not labelled but the enforce level is, and enforce is stricter
//!   than the warn default, warn follows enforce (and its version, unless the warn version
//!   is labelled).

use crate::level::{Level, PolicyVersion};
use std::fmt;

/// The label prefix every Pod Security label shares.
pub const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";
/// `pod-security.kubernetes.io/enforce`.
pub const ENFORCE_LEVEL_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// `pod-security.kubernetes.io/enforce-version`.
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
/// `pod-security.kubernetes.io/audit`.
pub const AUDIT_LEVEL_LABEL: &str = "pod-security.kubernetes.io/audit";
/// `pod-security.kubernetes.io/audit-version`.
pub const AUDIT_VERSION_LABEL: &str = "pod-security.kubernetes.io/audit-version";
/// `pod-security.kubernetes.io/warn`.
pub const WARN_LEVEL_LABEL: &str = "pod-security.kubernetes.io/warn";
/// `pod-security.kubernetes.io/warn-version`.
pub const WARN_VERSION_LABEL: &str = "pod-security.kubernetes.io/warn-version";

/// PSA's message for a level that is not one.
pub const LEVEL_ERROR: &str = "must be one of privileged, baseline, restricted";
/// PSA's message for a version that is not one.
pub const VERSION_ERROR: &str = "must be \"latest\" or \"v1.x\"";

/// A level at a version, printed as PSA prints it: `restricted:latest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelVersion {
    /// The level.
    pub level: Level,
    /// The version.
    pub version: PolicyVersion,
}

impl LevelVersion {
    /// `privileged:latest`, PSA's default for every mode.
    pub fn privileged(latest: &PolicyVersion) -> LevelVersion {
        LevelVersion {
            level: Level::Privileged,
            version: latest.clone(),
        }
    }

    /// Whether two level-versions evaluate alike: the same level and version, or both
    /// privileged (which allows everything at every version).
    pub fn equivalent(&self, other: &LevelVersion) -> bool {
        self.level == other.level
            && (self.level == Level::Privileged || self.version == other.version)
    }

    /// `restricted:latest`, as [`fmt::Display`] prints it, written without the formatting
    /// machinery (every labelled request's `enforce-policy` annotation is one).
    pub fn label(&self) -> String {
        let (level, version) = (self.level.as_str(), self.version.label());
        // The longest level and `v1.NNNN`: no growth.
        let mut label = String::with_capacity(20);
        label.push_str(level);
        label.push(':');
        label.push_str(version);
        label
    }
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.level.as_str())?;
        f.write_str(":")?;
        f.write_str(self.version.label())
    }
}

/// The level and version for each of PSA's three modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePolicy {
    /// `enforce`: violations are denied.
    pub enforce: LevelVersion,
    /// `audit`: violations are recorded in an audit annotation.
    pub audit: LevelVersion,
    /// `warn`: violations are returned as warnings.
    pub warn: LevelVersion,
}

impl NamespacePolicy {
    /// Every mode `privileged` at `latest`: PSA's defaults when none are configured.
    pub fn privileged(latest: &PolicyVersion) -> NamespacePolicy {
        NamespacePolicy {
            enforce: LevelVersion::privileged(latest),
            audit: LevelVersion::privileged(latest),
            warn: LevelVersion::privileged(latest),
        }
    }

    /// Whether every mode is privileged: nothing is ever reported.
    pub fn fully_privileged(&self) -> bool {
        self.enforce.level == Level::Privileged
            && self.audit.level == Level::Privileged
            && self.warn.level == Level::Privileged
    }

    /// Whether every mode evaluates alike in both policies.
    pub fn equivalent(&self, other: &NamespacePolicy) -> bool {
        self.enforce.equivalent(&other.enforce)
            && self.audit.equivalent(&other.audit)
            && self.warn.equivalent(&other.warn)
    }

    /// `enforce=baseline:latest, audit=…, warn=…`, for verdicts and logs.
    pub fn describe(&self) -> String {
        format!(
            "enforce={}, audit={}, warn={}",
            self.enforce, self.audit, self.warn
        )
    }
}

/// One invalid Pod Security label, as a Kubernetes field error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelError {
    /// The label key.
    pub label: &'static str,
    /// The label's value as written.
    pub value: String,
    /// What the value must be.
    pub message: &'static str,
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "metadata.labels[{}]: Invalid value: {:?}: {}",
            self.label, self.value, self.message
        )
    }
}

/// A list of errors as Kubernetes aggregates them: one error alone, several as `[a, b]`.
pub fn aggregate(errors: &[LabelError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => {
            let parts: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// Parses a version label: `latest` or `v1.N` with N a decimal number without leading
/// zeros, as PSA's `ParseVersion` accepts it (no upper bound: a version newer than the
/// engine evaluates as the newest checks). `latest` means `latest`, the pinned version
/// when the settings pin one.
pub fn parse_version_label(text: &str, latest: &PolicyVersion) -> Option<PolicyVersion> {
    if text == "latest" {
        return Some(latest.clone());
    }
    let digits = text.strip_prefix("v1.")?;
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !well_formed {
        return None;
    }
    // Go's Atoi fails past int64; the minor is clamped to the engine's newest anyway.
    let minor = digits.parse::<i64>().ok()?;
    Some(PolicyVersion::labelled(
        text,
        u32::try_from(minor).unwrap_or(u32::MAX),
    ))
}

/// The namespace policy for `labels` (a namespace's labels, in any order) over `defaults`,
/// and the invalid labels in PSA's order (enforce, enforce-version, audit, audit-version,
/// warn, warn-version).
pub fn policy_for_labels<'l, I>(
    labels: I,
    defaults: &NamespacePolicy,
    latest: &PolicyVersion,
) -> (NamespacePolicy, Vec<LabelError>)
where
    I: IntoIterator<Item = (&'l str, &'l str)>,
{
    let mut found: [Option<&str>; 6] = [None; 6];
    for (key, value) in labels {
        let Some(mode) = key.strip_prefix(LABEL_PREFIX) else {
            continue;
        };
        let slot = match mode {
            "enforce" => found.get_mut(0),
            "enforce-version" => found.get_mut(1),
            "audit" => found.get_mut(2),
            "audit-version" => found.get_mut(3),
            "warn" => found.get_mut(4),
            "warn-version" => found.get_mut(5),
            _ => None,
        };
        if let Some(slot) = slot {
            *slot = Some(value);
        }
    }
    let [enforce, enforce_version, audit, audit_version, warn, warn_version] = found;
    let mut policy = defaults.clone();
    let mut errors = Vec::new();
    let enforce_set = read_level(
        ENFORCE_LEVEL_LABEL,
        enforce,
        Level::Restricted,
        &mut policy.enforce.level,
        &mut errors,
    );
    read_version(
        ENFORCE_VERSION_LABEL,
        enforce_version,
        latest,
        &mut policy.enforce.version,
        &mut errors,
    );
    read_level(
        AUDIT_LEVEL_LABEL,
        audit,
        Level::Privileged,
        &mut policy.audit.level,
        &mut errors,
    );
    read_version(
        AUDIT_VERSION_LABEL,
        audit_version,
        latest,
        &mut policy.audit.version,
        &mut errors,
    );
    read_level(
        WARN_LEVEL_LABEL,
        warn,
        Level::Privileged,
        &mut policy.warn.level,
        &mut errors,
    );
    read_version(
        WARN_VERSION_LABEL,
        warn_version,
        latest,
        &mut policy.warn.version,
        &mut errors,
    );
    if warn.is_none() && enforce_set && policy.enforce.level > policy.warn.level {
        policy.warn.level = policy.enforce.level;
        if warn_version.is_none() {
            policy.warn.version = policy.enforce.version.clone();
        }
    }
    (policy, errors)
}

/// Reads a level label into `into`; an invalid value sets `invalid` and is an error.
/// Whether a valid level was labelled.
fn read_level(
    label: &'static str,
    value: Option<&str>,
    invalid: Level,
    into: &mut Level,
    errors: &mut Vec<LabelError>,
) -> bool {
    let Some(value) = value else {
        return false;
    };
    match Level::parse(value) {
        Some(level) => {
            *into = level;
            true
        }
        None => {
            *into = invalid;
            errors.push(LabelError {
                label,
                value: value.to_owned(),
                message: LEVEL_ERROR,
            });
            false
        }
    }
}

/// Reads a version label into `into`; an invalid value sets `latest` and is an error.
fn read_version(
    label: &'static str,
    value: Option<&str>,
    latest: &PolicyVersion,
    into: &mut PolicyVersion,
    errors: &mut Vec<LabelError>,
) {
    let Some(value) = value else {
        return;
    };
    match parse_version_label(value, latest) {
        Some(version) => *into = version,
        None => {
            *into = latest.clone();
            errors.push(LabelError {
                label,
                value: value.to_owned(),
                message: VERSION_ERROR,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latest() -> PolicyVersion {
        PolicyVersion::latest()
    }

    fn policy(labels: &[(&str, &str)]) -> (String, Vec<String>) {
        let (policy, errors) = policy_for_labels(
            labels.iter().copied(),
            &NamespacePolicy::privileged(&latest()),
            &latest(),
        );
        (
            policy.describe(),
            errors.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn a_level_version_prints_as_psa_writes_it() {
        for level in [Level::Privileged, Level::Baseline, Level::Restricted] {
            for version in [latest(), PolicyVersion::v1(0), PolicyVersion::v1(99)] {
                let lv = LevelVersion { level, version };
                let printed = format!("{}:{}", level.as_str(), lv.version.label());
                assert_eq!(lv.label(), printed);
                assert_eq!(lv.to_string(), printed);
            }
        }
        assert_eq!(
            LevelVersion::privileged(&PolicyVersion::v1(30)).label(),
            "privileged:v1.30"
        );
    }

    #[test]
    fn no_labels_take_the_defaults() {
        assert_eq!(
            policy(&[("app", "web")]).0,
            "enforce=privileged:latest, audit=privileged:latest, warn=privileged:latest"
        );
    }

    #[test]
    fn labels_set_each_mode() {
        let (described, errors) = policy(&[
            (ENFORCE_LEVEL_LABEL, "baseline"),
            (ENFORCE_VERSION_LABEL, "v1.25"),
            (AUDIT_LEVEL_LABEL, "restricted"),
            (WARN_LEVEL_LABEL, "restricted"),
            (WARN_VERSION_LABEL, "v1.30"),
        ]);
        assert!(errors.is_empty());
        assert_eq!(
            described,
            "enforce=baseline:v1.25, audit=restricted:latest, warn=restricted:v1.30"
        );
    }

    #[test]
    fn invalid_values_fail_closed_for_enforce_and_open_for_audit_and_warn() {
        let (described, errors) = policy(&[
            (WARN_VERSION_LABEL, "1.30"),
            (ENFORCE_LEVEL_LABEL, "strict"),
            (AUDIT_LEVEL_LABEL, "Restricted"),
            (ENFORCE_VERSION_LABEL, "v1.01"),
        ]);
        assert_eq!(
            described,
            "enforce=restricted:latest, audit=privileged:latest, warn=privileged:latest"
        );
        assert_eq!(
            errors,
            vec![
                "metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": must be one of privileged, baseline, restricted",
                "metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: \"v1.01\": must be \"latest\" or \"v1.x\"",
                "metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: \"Restricted\": must be one of privileged, baseline, restricted",
                "metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: \"1.30\": must be \"latest\" or \"v1.x\"",
            ]
        );
    }

    #[test]
    fn warn_follows_a_stricter_enforce() {
        let (described, _) = policy(&[
            (ENFORCE_LEVEL_LABEL, "baseline"),
            (ENFORCE_VERSION_LABEL, "v1.28"),
        ]);
        assert_eq!(
            described,
            "enforce=baseline:v1.28, audit=privileged:latest, warn=baseline:v1.28"
        );
        // A labelled warn version stays.
        let (described, _) = policy(&[
            (ENFORCE_LEVEL_LABEL, "restricted"),
            (WARN_VERSION_LABEL, "v1.20"),
        ]);
        assert!(described.ends_with("warn=restricted:v1.20"), "{described}");
        // An invalid enforce level does not carry over to warn.
        let (described, _) = policy(&[(ENFORCE_LEVEL_LABEL, "bogus")]);
        assert!(described.ends_with("warn=privileged:latest"), "{described}");
        // A labelled warn level wins, even when looser.
        let (described, _) = policy(&[
            (ENFORCE_LEVEL_LABEL, "restricted"),
            (WARN_LEVEL_LABEL, "privileged"),
        ]);
        assert!(described.ends_with("warn=privileged:latest"), "{described}");
    }

    #[test]
    fn versions_past_the_engine_are_valid() {
        let version = parse_version_label("v1.12345", &latest()).map(|v| v.to_string());
        assert_eq!(version.as_deref(), Some("v1.12345"));
        assert!(parse_version_label("v1.99999999999999999999", &latest()).is_none());
        assert!(parse_version_label("v2.0", &latest()).is_none());
    }

    #[test]
    fn errors_aggregate_as_kubernetes_does() {
        let one = LabelError {
            label: ENFORCE_LEVEL_LABEL,
            value: "x".to_owned(),
            message: LEVEL_ERROR,
        };
        assert_eq!(aggregate(std::slice::from_ref(&one)), one.to_string());
        assert_eq!(
            aggregate(&[one.clone(), one.clone()]),
            format!("[{one}, {one}]")
        );
    }
}
