//! What the Pod Security Standards consist of, as data: the checks (PSA's id, level, the
//! version that introduced each, the baseline check a restricted one replaces, PSA's
//! reason), the capabilities the baseline level lets a container add, and the presets'
//! values. A leaf: it depends on nothing in the crate but [`Level`].
//!
//! Upstream's registry: <https://github.com/kubernetes/pod-security-admission/tree/master/policy>
//! (each `check_*.go` registers its id, level and versions).

use crate::level::Level;
use std::fmt;

/// A check of the Pod Security Standards, by PSA's id. The variants are in [`CHECKS`]'s
/// order, so a check's discriminant is its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckId {
    /// `appArmorProfile` (baseline).
    AppArmorProfile,
    /// `capabilities_baseline` (baseline).
    CapabilitiesBaseline,
    /// `hostNamespaces` (baseline).
    HostNamespaces,
    /// `hostPathVolumes` (baseline).
    HostPathVolumes,
    /// `hostPorts` (baseline).
    HostPorts,
    /// `hostProbesAndHostLifecycle` (baseline, v1.34+).
    HostProbesAndHostLifecycle,
    /// `privileged` (baseline).
    Privileged,
    /// `procMount` (baseline).
    ProcMount,
    /// `seLinuxOptions` (baseline).
    SeLinuxOptions,
    /// `seccompProfile_baseline` (baseline).
    SeccompProfileBaseline,
    /// `sysctls` (baseline).
    Sysctls,
    /// `windowsHostProcess` (baseline).
    WindowsHostProcess,
    /// `allowPrivilegeEscalation` (restricted, v1.8+).
    AllowPrivilegeEscalation,
    /// `capabilities_restricted` (restricted, v1.22+).
    CapabilitiesRestricted,
    /// `procMount_restricted` (restricted, v1.35+).
    ProcMountRestricted,
    /// `restrictedVolumes` (restricted).
    RestrictedVolumes,
    /// `runAsNonRoot` (restricted).
    RunAsNonRoot,
    /// `runAsUser` (restricted, v1.23+).
    RunAsUser,
    /// `seccompProfile_restricted` (restricted, v1.19+).
    SeccompProfileRestricted,
}

/// One row of the check table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInfo {
    /// The check.
    pub id: CheckId,
    /// PSA's id, e.g. `capabilities_baseline`.
    pub name: &'static str,
    /// The level the check belongs to.
    pub level: Level,
    /// The first policy minor version that has the check.
    pub since_minor: u32,
    /// The baseline check this restricted check replaces at the restricted level.
    pub replaces: Option<CheckId>,
    /// PSA's forbidden reason, e.g. `host namespaces` (`appArmorProfile` uses the plural
    /// form when several profiles are forbidden).
    pub reason: &'static str,
}

const fn row(
    id: CheckId,
    name: &'static str,
    level: Level,
    since_minor: u32,
    replaces: Option<CheckId>,
    reason: &'static str,
) -> CheckInfo {
    CheckInfo {
        id,
        name,
        level,
        since_minor,
        replaces,
        reason,
    }
}

use CheckId as C;
use Level::{Baseline as B, Restricted as R};

/// Every check: the baseline ones, then the restricted ones, each level in PSA's
/// evaluation order.
#[rustfmt::skip]
pub const CHECKS: [CheckInfo; 19] = [
    row(C::AppArmorProfile, "appArmorProfile", B, 0, None, "forbidden AppArmor profile"),
    row(C::CapabilitiesBaseline, "capabilities_baseline", B, 0, None, "non-default capabilities"),
    row(C::HostNamespaces, "hostNamespaces", B, 0, None, "host namespaces"),
    row(C::HostPathVolumes, "hostPathVolumes", B, 0, None, "hostPath volumes"),
    row(C::HostPorts, "hostPorts", B, 0, None, "hostPort"),
    row(C::HostProbesAndHostLifecycle, "hostProbesAndHostLifecycle", B, 34, None, "probe or lifecycle host"),
    row(C::Privileged, "privileged", B, 0, None, "privileged"),
    row(C::ProcMount, "procMount", B, 0, None, "procMount"),
    row(C::SeLinuxOptions, "seLinuxOptions", B, 0, None, "seLinuxOptions"),
    row(C::SeccompProfileBaseline, "seccompProfile_baseline", B, 0, None, "seccompProfile"),
    row(C::Sysctls, "sysctls", B, 0, None, "forbidden sysctls"),
    row(C::WindowsHostProcess, "windowsHostProcess", B, 0, None, "hostProcess"),
    row(C::AllowPrivilegeEscalation, "allowPrivilegeEscalation", R, 8, None, "allowPrivilegeEscalation != false"),
    row(C::CapabilitiesRestricted, "capabilities_restricted", R, 22, Some(C::CapabilitiesBaseline), "unrestricted capabilities"),
    row(C::ProcMountRestricted, "procMount_restricted", R, 35, Some(C::ProcMount), "procMount"),
    row(C::RestrictedVolumes, "restrictedVolumes", R, 0, Some(C::HostPathVolumes), "restricted volume types"),
    row(C::RunAsNonRoot, "runAsNonRoot", R, 0, None, "runAsNonRoot != true"),
    row(C::RunAsUser, "runAsUser", R, 23, None, "runAsUser=0"),
    row(C::SeccompProfileRestricted, "seccompProfile_restricted", R, 19, Some(C::SeccompProfileBaseline), "seccompProfile"),
];

impl CheckId {
    /// Every check, in [`CHECKS`]'s order.
    pub fn all() -> impl Iterator<Item = CheckId> {
        CHECKS.iter().map(|info| info.id)
    }

    /// The check's row of [`CHECKS`].
    #[expect(
        clippy::indexing_slicing,
        reason = "the variants are declared in the table's order, so every discriminant is a row (test `the_table_is_in_variant_order`)"
    )]
    pub fn info(self) -> &'static CheckInfo {
        &CHECKS[self as usize]
    }

    /// PSA's id for the check.
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// Looks a check up by PSA's id.
    pub fn parse(id: &str) -> Option<CheckId> {
        CHECKS
            .iter()
            .find(|info| info.name == id)
            .map(|info| info.id)
    }

    /// The level the check belongs to.
    pub fn level(self) -> Level {
        self.info().level
    }

    /// The first policy minor version that has this check.
    pub fn since_minor(self) -> u32 {
        self.info().since_minor
    }

    /// PSA's forbidden reason.
    pub fn reason(self) -> &'static str {
        self.info().reason
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CheckId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<CheckId, D::Error> {
        struct Id;
        impl serde::de::Visitor<'_> for Id {
            type Value = CheckId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Pod Security check id")
            }
            fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<CheckId, E> {
                CheckId::parse(id)
                    .ok_or_else(|| E::custom(format!("{id:?} is not a Pod Security check id")))
            }
        }
        deserializer.deserialize_str(Id)
    }
}

/// The checks PSA runs at `level` and policy minor version `minor`, in evaluation order:
/// the baseline checks (less those a restricted check replaces at this version), then, at
/// the restricted level, the restricted checks.
pub fn checks_for(level: Level, minor: u32) -> Vec<CheckId> {
    let exists = |info: &&CheckInfo| info.since_minor <= minor;
    let at_level = |info: &&CheckInfo| info.level <= level;
    if level == Level::Privileged {
        return Vec::new();
    }
    let replaced: Vec<CheckId> = CHECKS
        .iter()
        .filter(exists)
        .filter(at_level)
        .filter_map(|info| info.replaces)
        .collect();
    CHECKS
        .iter()
        .filter(exists)
        .filter(at_level)
        .map(|info| info.id)
        .filter(|id| !replaced.contains(id))
        .collect()
}

/// The capabilities the baseline level lets a container add.
pub const STANDARD_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The checks the `azure-baseline` preset keeps active.
pub const AZURE_BASELINE_CHECKS: [CheckId; 5] = [
    CheckId::Privileged,
    CheckId::HostNamespaces,
    CheckId::CapabilitiesBaseline,
    CheckId::HostPathVolumes,
    CheckId::HostPorts,
];

/// The capability the `azure-baseline` preset allows beyond [`STANDARD_CAPABILITIES`].
pub const AZURE_BASELINE_EXTRA_CAPABILITY: &str = "NET_RAW";

/// The namespaces the `azure-baseline` preset exempts.
pub const AZURE_BASELINE_EXCLUDED_NAMESPACES: [&str; 4] = [
    "kube-system",
    "gatekeeper-system",
    "azure-arc",
    "azure-extensions-usage-system",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_variant_order() {
        for (row, info) in CHECKS.iter().enumerate() {
            assert_eq!(info.id as usize, row, "{}", info.name);
            assert_eq!(info.id.info(), info);
        }
    }

    #[test]
    fn ids_round_trip() {
        for check in CheckId::all() {
            assert_eq!(CheckId::parse(check.as_str()), Some(check));
            let json = serde_json::to_string(&check).unwrap();
            assert_eq!(json, format!("\"{check}\""));
            assert_eq!(serde_json::from_str::<CheckId>(&json).unwrap(), check);
        }
        assert_eq!(CheckId::parse("nope"), None);
        let error = serde_json::from_str::<CheckId>("\"nope\"").unwrap_err();
        assert!(error.to_string().contains("not a Pod Security check id"));
    }

    #[test]
    fn replacements_follow_versions() {
        let at = |minor| checks_for(Level::Restricted, minor);
        assert!(at(21).contains(&CheckId::CapabilitiesBaseline));
        assert!(!at(22).contains(&CheckId::CapabilitiesBaseline));
        assert!(at(18).contains(&CheckId::SeccompProfileBaseline));
        assert!(!at(19).contains(&CheckId::SeccompProfileBaseline));
        assert!(at(34).contains(&CheckId::ProcMount));
        assert!(!at(35).contains(&CheckId::ProcMount));
        assert!(!at(0).contains(&CheckId::HostPathVolumes));
        assert_eq!(checks_for(Level::Baseline, 37).len(), 12);
        assert_eq!(checks_for(Level::Baseline, 33).len(), 11);
        assert_eq!(checks_for(Level::Restricted, 37).len(), 15);
        assert!(checks_for(Level::Privileged, 37).is_empty());
    }
}
