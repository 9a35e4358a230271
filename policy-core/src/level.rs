//! Policy levels and versions, as PSA's `enforce` and `enforce-version` labels spell them.

use std::borrow::Cow;
use std::fmt;

/// The newest policy version this engine knows (`v1.37`): `latest` and every newer `v1.N`
/// evaluate as this version, as upstream PSA clamps to its newest registered check.
pub const LATEST_MINOR: u32 = 37;

/// The version label that follows the newest version.
const LATEST: &str = "latest";

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Everything is allowed.
    Privileged,
    /// Prevents known privilege escalations.
    Baseline,
    /// Current pod hardening best practice; includes baseline.
    Restricted,
}

impl Level {
    /// Parses `privileged`, `baseline` or `restricted`.
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }

    /// The level as PSA writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy version: what the user configured (printed in messages) and the minor version
/// the checks are evaluated at (configured, clamped to [`LATEST_MINOR`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    /// `latest` without an allocation: every request's settings name it, most by default.
    label: Cow<'static, str>,
    minor: u32,
}

impl PolicyVersion {
    /// `latest`.
    pub fn latest() -> PolicyVersion {
        PolicyVersion {
            label: Cow::Borrowed(LATEST),
            minor: LATEST_MINOR,
        }
    }

    /// `latest` on a cluster pinned to `v1.minor`: printed as `latest`, evaluated at the
    /// pinned minor (PSA's `latest` is its API server's own version).
    pub fn latest_at(minor: u32) -> PolicyVersion {
        PolicyVersion {
            label: Cow::Borrowed(LATEST),
            minor: minor.min(LATEST_MINOR),
        }
    }

    /// A version as a label wrote it (`v1.N`), evaluated at `minor`, clamped.
    pub fn labelled(label: &str, minor: u32) -> PolicyVersion {
        PolicyVersion {
            label: Cow::Owned(label.to_owned()),
            minor: minor.min(LATEST_MINOR),
        }
    }

    /// Whether this is `latest`.
    pub fn is_latest(&self) -> bool {
        self.label == LATEST
    }

    /// A pinned `v1.N`.
    pub fn v1(minor: u32) -> PolicyVersion {
        PolicyVersion {
            label: Cow::Owned(format!("v1.{minor}")),
            minor: minor.min(LATEST_MINOR),
        }
    }

    /// Parses `latest` or `v1.N` (N without leading zeros, as Kubernetes writes it).
    pub fn parse(text: &str) -> Option<PolicyVersion> {
        if text == LATEST {
            return Some(PolicyVersion::latest());
        }
        let digits = text.strip_prefix("v1.")?;
        let well_formed = !digits.is_empty()
            && digits.len() <= 4
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !well_formed {
            return None;
        }
        digits.parse::<u32>().ok().map(PolicyVersion::v1)
    }

    /// The label as configured: `latest` or `v1.N`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The minor version the checks run at.
    pub fn minor(&self) -> u32 {
        self.minor
    }
}

impl fmt::Display for PolicyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_clamp() {
        assert_eq!(PolicyVersion::parse("latest").map(|v| v.minor()), Some(37));
        assert_eq!(PolicyVersion::parse("v1.0").map(|v| v.minor()), Some(0));
        assert_eq!(PolicyVersion::parse("v1.25").map(|v| v.minor()), Some(25));
        let future = PolicyVersion::parse("v1.99");
        assert_eq!(future.as_ref().map(|v| v.minor()), Some(37));
        assert_eq!(future.as_ref().map(|v| v.label()), Some("v1.99"));
        for bad in [
            "", "v1.", "v1.01", "v2.0", "1.25", "v1.2x", "v1.-1", "v1.99999",
        ] {
            assert!(
                PolicyVersion::parse(bad).is_none(),
                "{bad} should not parse"
            );
        }
    }

    #[test]
    fn levels_parse() {
        assert_eq!(Level::parse("restricted"), Some(Level::Restricted));
        assert_eq!(Level::parse("Restricted"), None);
        assert!(Level::Baseline < Level::Restricted);
    }
}
