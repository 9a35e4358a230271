//! The checks of the Pod Security Standards, one file per check, named by PSA's check id.
//!
//! Each check is a pure function from a pod spec (with its metadata, the policy version and
//! podsec's check parameters) to at most one [`Finding`]: PSA's reason and detail text, plus
//! the exact fields at fault. [`checks_for`] says which checks run at a level and version,
//! in PSA's order, with the restricted level's overrides of baseline checks applied.
//!
//! Upstream: <https://github.com/kubernetes/pod-security-admission/tree/master/policy>.

use crate::field_path::FieldPath;
use crate::pod::{Container, ObjectMeta, PodSpec};
use serde_json::Value;
use std::borrow::Cow;

mod allow_privilege_escalation;
mod app_armor_profile;
mod capabilities_baseline;
mod capabilities_restricted;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes_and_host_lifecycle;
mod privileged;
mod proc_mount;
mod restricted_volumes;
mod run_as_non_root;
mod run_as_user;
mod se_linux_options;
mod seccomp_profile_baseline;
mod seccomp_profile_restricted;
mod sysctls;
mod windows_host_process;

pub use crate::catalog::{checks_for, CheckId, STANDARD_CAPABILITIES};
pub(crate) use seccomp_profile_baseline::container_annotation as seccomp_container_annotation;

/// Runs one check.
fn run(check: CheckId, ctx: &Context<'_, '_>) -> Option<Finding> {
    match check {
        CheckId::AppArmorProfile => app_armor_profile::check(ctx),
        CheckId::CapabilitiesBaseline => capabilities_baseline::check(ctx),
        CheckId::HostNamespaces => host_namespaces::check(ctx),
        CheckId::HostPathVolumes => host_path_volumes::check(ctx),
        CheckId::HostPorts => host_ports::check(ctx),
        CheckId::HostProbesAndHostLifecycle => host_probes_and_host_lifecycle::check(ctx),
        CheckId::Privileged => privileged::check(ctx),
        CheckId::ProcMount => proc_mount::check_baseline(ctx),
        CheckId::SeLinuxOptions => se_linux_options::check(ctx),
        CheckId::SeccompProfileBaseline => seccomp_profile_baseline::check(ctx),
        CheckId::Sysctls => sysctls::check(ctx),
        CheckId::WindowsHostProcess => windows_host_process::check(ctx),
        CheckId::AllowPrivilegeEscalation => allow_privilege_escalation::check(ctx),
        CheckId::CapabilitiesRestricted => capabilities_restricted::check(ctx),
        CheckId::ProcMountRestricted => proc_mount::check_restricted(ctx),
        CheckId::RestrictedVolumes => restricted_volumes::check(ctx),
        CheckId::RunAsNonRoot => run_as_non_root::check(ctx),
        CheckId::RunAsUser => run_as_user::check(ctx),
        CheckId::SeccompProfileRestricted => seccomp_profile_restricted::check(ctx),
    }
}

/// A `hostPath` prefix that podsec's `allowedHostPaths` setting allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHostPath {
    /// An absolute path; it matches itself and everything below it, segment by segment.
    pub path_prefix: String,
    /// When true, every mount of a matching volume must be read-only.
    pub read_only: bool,
}

/// The settings that refine individual checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckParams {
    /// Replaces the standard `capabilities.add` allow-list of `capabilities_baseline`;
    /// `"*"` allows every capability. `None` keeps the standard list.
    pub allowed_capabilities: Option<Vec<String>>,
    /// Capabilities every container must drop (`ALL` satisfies any).
    pub required_drop_capabilities: Vec<String>,
    /// `hostPath` prefixes `hostPathVolumes` lets through.
    pub allowed_host_paths: Vec<AllowedHostPath>,
    /// Lets `hostNetwork: true` pass `hostNamespaces`.
    pub allow_host_network: bool,
    /// Inclusive host port range `hostPorts` lets through (`0..=0` lets none through).
    pub min_port: i64,
    /// See `min_port`.
    pub max_port: i64,
}

/// What a check sees.
pub struct Context<'s, 'a> {
    /// The pod spec (of the pod or of the workload's pod template).
    pub spec: &'s PodSpec<'a>,
    /// The pod's metadata (annotations are read by the AppArmor and seccomp checks).
    pub meta: &'s ObjectMeta<'a>,
    /// The policy minor version, already clamped.
    pub minor: u32,
    /// podsec's refinements.
    pub params: &'s CheckParams,
    /// Where the pod spec sits in the object, e.g. `spec` or `spec.template.spec`.
    pub spec_path: &'s str,
    /// Where the pod metadata sits, e.g. `metadata` or `spec.template.metadata`.
    pub meta_path: &'s str,
    /// Whether the findings spell out their fields' paths. Kubewarden's `validate` answers
    /// with the message alone, so it leaves them out (each path is a string built per
    /// faulted field); the verdict, check-scoped exemptions and the fixes need them.
    pub field_paths: bool,
}

impl Context<'_, '_> {
    /// The path of a field below the pod spec.
    fn spec_field(&self, field: &str) -> FieldPath {
        if !self.field_paths {
            return FieldPath::root();
        }
        FieldPath::of(self.spec_path, field)
    }

    /// The path of a field below a container.
    fn container_field(&self, container: &Container<'_>, field: &str) -> FieldPath {
        if !self.field_paths {
            return FieldPath::root();
        }
        container.path(self.spec_path).child(field)
    }

    /// The path of an annotation.
    fn annotation_field(&self, key: &str) -> FieldPath {
        if !self.field_paths {
            return FieldPath::root();
        }
        FieldPath::of(self.meta_path, "annotations").key(key)
    }
}

/// One field at fault: where it is and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field path, e.g. `spec.containers[0].securityContext.privileged`.
    pub path: FieldPath,
    /// The offending value (`null` where the fault is a missing value).
    pub value: Value,
}

impl Field {
    fn new(path: FieldPath, value: impl Into<Value>) -> Field {
        Field {
            path,
            value: value.into(),
        }
    }
}

/// A failed check: PSA's reason and detail, and the fields at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The check that failed.
    pub check: CheckId,
    /// PSA's forbidden reason, e.g. `privileged` (from the catalog; owned only when read
    /// back from another host's answer).
    pub reason: Cow<'static, str>,
    /// PSA's forbidden detail, e.g. `container "app" must not set securityContext.privileged=true`.
    pub detail: String,
    /// The fields at fault, in the order the check found them.
    pub fields: Vec<Field>,
}

impl Finding {
    /// A finding with the check's reason from the catalog.
    fn new(check: CheckId, detail: String, fields: Vec<Field>) -> Finding {
        Finding::with_reason(check, check.reason(), detail, fields)
    }

    /// A finding whose reason differs from the catalog's (a plural form).
    fn with_reason(
        check: CheckId,
        reason: &'static str,
        detail: String,
        fields: Vec<Field>,
    ) -> Finding {
        Finding {
            check,
            reason: Cow::Borrowed(reason),
            detail,
            fields,
        }
    }

    /// `reason (detail)`, as PSA joins them into the denial message.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    /// [`Finding::text`], appended to `out` (the message is written in one string).
    pub fn write_text(&self, out: &mut String) {
        out.push_str(&self.reason);
        if !self.detail.is_empty() {
            out.push_str(" (");
            out.push_str(&self.detail);
            out.push(')');
        }
    }
}

/// Runs `checks` over a pod spec and returns the findings in order.
pub fn run_checks(checks: &[CheckId], ctx: &Context<'_, '_>) -> Vec<Finding> {
    checks.iter().filter_map(|&check| run(check, ctx)).collect()
}

/// `singular` for one, `plural` otherwise.
fn pluralize<'t>(singular: &'t str, plural: &'t str, count: usize) -> &'t str {
    if count == 1 {
        singular
    } else {
        plural
    }
}

/// Appends `"a", "b", "c"` to `out` (no escaping, as PSA writes it).
fn push_quoted<S: AsRef<str>>(out: &mut String, items: &[S]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('"');
        out.push_str(item.as_ref());
        out.push('"');
    }
}

/// A finding's detail, written piece by piece into one string. The details are fixed
/// phrases around names and values; building them with `format!` and intermediate strings
/// cost the denial path more instructions than the checks themselves.
struct Detail(String);

impl Detail {
    fn new() -> Detail {
        Detail(String::with_capacity(96))
    }

    /// Appends `text`.
    fn text(mut self, text: &str) -> Detail {
        self.0.push_str(text);
        self
    }

    /// Appends `"a", "b", "c"` (no escaping, as PSA writes it).
    fn quoted<S: AsRef<str>>(mut self, items: &[S]) -> Detail {
        push_quoted(&mut self.0, items);
        self
    }

    /// Appends `items` with `separator` between them.
    fn joined<S: AsRef<str>>(mut self, items: &[S], separator: &str) -> Detail {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.0.push_str(separator);
            }
            self.0.push_str(item.as_ref());
        }
        self
    }

    /// Appends `singular "a"` or `plural "a", "b"`, by how many `names` there are.
    fn named<S: AsRef<str>>(self, singular: &str, plural: &str, names: &[S]) -> Detail {
        self.text(pluralize(singular, plural, names.len()))
            .text(" ")
            .quoted(names)
    }

    /// Appends `container "a"` or `containers "a", "b"`.
    fn containers(self, names: &[&str]) -> Detail {
        self.named("container", "containers", names)
    }

    /// Appends `container "a" must not include "X", "Y" in
    /// securityContext.capabilities.add`, the capabilities sorted and without duplicates:
    /// both capability checks word a forbidden addition so.
    fn adds_forbidden(self, containers: &[&str], capabilities: Vec<&str>) -> Detail {
        self.containers(containers)
            .text(" must not include ")
            .quoted(&sorted_set(capabilities))
            .text(" in securityContext.capabilities.add")
    }

    fn done(self) -> String {
        self.0
    }
}

/// `container "a"` or `containers "a", "b"`: who sets a field, where a detail names the pod
/// too (`pod and container "a" must not …`).
fn containers_phrase(names: &[&str]) -> String {
    Detail::new().containers(names).done()
}

/// Sorts and removes duplicates, as Go's `sets.String.List()` returns a set.
fn sorted_set<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    sort(&mut items);
    items.dedup();
    items
}

/// Sorts `items` in place (not stably; the checks sort strings, where equal means the
/// same). A heapsort: the checks sort a few names, ports or annotations per finding, and
/// this one short routine stands in for std's sorts, which cost the module ~12 KB of wasm
/// for the two element types. O(n log n) at any length: a request with thousands of ports
/// cannot make it quadratic.
fn sort<T: Ord>(items: &mut [T]) {
    let len = items.len();
    // Make a max-heap, then move its largest element behind the shrinking heap.
    let mut root = len / 2;
    while let Some(next) = root.checked_sub(1) {
        root = next;
        sift_down(items, root, len);
    }
    let mut end = len;
    while let Some(last) = end.checked_sub(1).filter(|&last| last > 0) {
        end = last;
        items.swap(0, end);
        sift_down(items, 0, end);
    }
}

/// Restores the heap below `root` in `items[..end]`.
fn sift_down<T: Ord>(items: &mut [T], mut root: usize, end: usize) {
    loop {
        let Some(mut child) = root.checked_mul(2).and_then(|c| c.checked_add(1)) else {
            return;
        };
        if child >= end {
            return;
        }
        if let Some(right) = child.checked_add(1).filter(|&right| right < end) {
            if items.get(right) > items.get(child) {
                child = right;
            }
        }
        if items.get(child) <= items.get(root) {
            return;
        }
        items.swap(root, child);
        root = child;
    }
}

/// Quotes a string the way Go's `%q` verb does, so annotation values read as in PSA.
pub(crate) fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len().saturating_add(2));
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7F}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("unconfined"), "\"unconfined\"");
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(go_quote("\u{1}"), "\"\\x01\"");
    }

    #[test]
    fn sort_orders_as_std_does() {
        // Every length up to 40, with duplicates, from a fixed pseudo-random sequence.
        let mut seed: u32 = 0x9e37_79b9;
        for len in 0..40 {
            let mut items: Vec<String> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    format!("p{}", seed % 23)
                })
                .collect();
            let mut expected = items.clone();
            expected.sort_unstable();
            sort(&mut items);
            assert_eq!(items, expected, "length {len}");
        }
        let mut reversed: Vec<u32> = (0..1000).rev().collect();
        sort(&mut reversed);
        assert!(reversed.windows(2).all(|w| w[0] < w[1]));
    }
}
