//! podsec's exemptions and scoping, in the order a request meets them: by request
//! (namespace patterns, checked namespaces, usernames: PSA's username and namespace
//! exemptions plus podsec's patterns), by object (label selector, runtime class: PSA's
//! runtime-class exemption), and by container (`excludedContainers`, `excludedImages`).

use crate::checks::{run_checks, seccomp_container_annotation, CheckId, Context, Field, Finding};
use crate::field_path::FieldPath;
use crate::pod::{Container, ContainerList, PodSpec};
use crate::settings::{matches_pattern, Settings};
use crate::workload::PodUnderReview;
use serde_json::Value;
use std::borrow::Cow;

/// An exemption: PSA's name for it (`namespace`, `user`, `runtimeClass`; empty for
/// podsec's own scoping, which PSA does not have) and why it applies.
pub(crate) struct Exemption {
    /// The value of PSA's `exempt` audit annotation.
    pub(crate) psa_name: &'static str,
    /// Why the request is exempt.
    pub(crate) why: String,
}

fn exempt(psa_name: &'static str, why: String) -> Option<Exemption> {
    Some(Exemption { psa_name, why })
}

/// Exemptions that need only the request: namespaces and users.
pub(crate) fn request_exemption(
    namespace: Option<&str>,
    username: Option<&str>,
    settings: &Settings,
) -> Option<Exemption> {
    let namespace = namespace.unwrap_or("");
    if let Some(pattern) = settings
        .excluded_namespaces
        .iter()
        .find(|p| matches_pattern(p, namespace))
    {
        return exempt(
            "namespace",
            format!("namespace {namespace:?} is excluded by {pattern:?}"),
        );
    }
    if !settings.namespaces.is_empty()
        && !settings
            .namespaces
            .iter()
            .any(|p| matches_pattern(p, namespace))
    {
        return exempt(
            "",
            format!("namespace {namespace:?} is not in the checked namespaces"),
        );
    }
    let username = username.unwrap_or("");
    if settings.excluded_usernames.iter().any(|u| u == username) {
        return exempt("user", format!("user {username:?} is exempt"));
    }
    None
}

/// Exemptions that need the object: label selector and runtime class.
pub(crate) fn object_exemption(pod: &PodUnderReview<'_>, settings: &Settings) -> Option<Exemption> {
    if let Some(selector) = &settings.label_selector {
        if !selector.matches(&pod.object_meta.labels) {
            return exempt(
                "",
                "the object's labels do not match labelSelector".to_owned(),
            );
        }
    }
    runtime_class_exemption(pod.spec.as_ref(), settings)
}

/// PSA's runtime-class exemption.
pub(crate) fn runtime_class_exemption(
    spec: Option<&PodSpec<'_>>,
    settings: &Settings,
) -> Option<Exemption> {
    let runtime_class = spec
        .and_then(|spec| spec.runtime_class_name.as_deref())
        .unwrap_or("");
    if !runtime_class.is_empty()
        && settings
            .excluded_runtime_classes
            .iter()
            .any(|r| r == runtime_class)
    {
        return exempt(
            "runtimeClass",
            format!("runtime class {runtime_class:?} is exempt"),
        );
    }
    None
}

/// Drops the containers podsec's `excludedContainers` and `excludedImages` exempt from
/// container-level checks; their index is kept, so field paths stay right.
pub(crate) fn exclude_containers(spec: &mut PodSpec<'_>, settings: &Settings) {
    if settings.excluded_containers.is_empty() && settings.excluded_images.is_empty() {
        return;
    }
    let keep = |c: &Container<'_>| {
        let name_excluded = settings.excluded_containers.iter().any(|n| *n == c.name);
        let image = c.image.as_deref().unwrap_or("");
        let image_excluded =
            settings
                .excluded_images
                .iter()
                .any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => image.starts_with(prefix),
                    None => pattern == image,
                });
        !name_excluded && !image_excluded
    };
    spec.init_containers.retain(keep);
    spec.containers.retain(keep);
    spec.ephemeral_containers.retain(keep);
}

/// One entry of `exemptions` given as a list: the checks it exempts from, narrowed by
/// image patterns, container names, namespace patterns and the fields' values. An empty
/// list narrows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckExemption {
    /// The checks (required).
    pub checks: Vec<CheckId>,
    /// Image patterns; `*` stands for any run of characters (`*/istio/proxyv2*`).
    pub images: Vec<String>,
    /// Container names.
    pub containers: Vec<String>,
    /// Namespace patterns, as for `excludedNamespaces`.
    pub namespaces: Vec<String>,
    /// The values exempted (a capability, a sysctl, a port, a profile type, a volume type…),
    /// compared with each field's value as text; empty exempts every value.
    pub values: Vec<String>,
}

impl CheckExemption {
    /// Whether a container matches the entry's containers and images.
    fn matches_container(&self, container: &Container<'_>) -> bool {
        let image = container.image.as_deref().unwrap_or("");
        (self.containers.is_empty() || self.containers.iter().any(|n| *n == container.name))
            && (self.images.is_empty() || self.images.iter().any(|p| glob_matches(p, image)))
    }

    /// Whether a value matches the entry's values.
    fn matches_value(&self, value: &Value) -> bool {
        if self.values.is_empty() {
            return true;
        }
        match value_text(value) {
            Some(text) => self.values.iter().any(|v| *v == text),
            None => false,
        }
    }
}

/// A value as `values` lists it: a string, a number or a boolean as text; `None` for the
/// rest (a missing field's `null`, a list).
pub fn value_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(text) => Some(Cow::Borrowed(text.as_str())),
        Value::Number(number) => Some(Cow::Owned(number.to_string())),
        Value::Bool(flag) => Some(Cow::Borrowed(if *flag { "true" } else { "false" })),
        _ => None,
    }
}

/// `*` matches any run of characters, everything else itself.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern = pattern.as_bytes();
    let text = text.as_bytes();
    let (mut p, mut t) = (0usize, 0usize);
    // Where the last `*` was and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match (pattern.get(p), text.get(t)) {
            (Some(b'*'), _) => {
                star = Some((p, t));
                p = p.saturating_add(1);
            }
            (Some(a), Some(b)) if a == b => {
                p = p.saturating_add(1);
                t = t.saturating_add(1);
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p.saturating_add(1);
                    t = star_t.saturating_add(1);
                    star = Some((star_p, t));
                }
                None => return false,
            },
        }
    }
    pattern.iter().skip(p).all(|&c| c == b'*')
}

/// A finding, or part of one, that a check-scoped exemption let through.
#[derive(Debug, Clone, PartialEq)]
pub struct Exempted {
    /// The index of the entry in `exemptions`.
    pub exemption: usize,
    /// The check's finding, with only the fields that entry exempts.
    pub finding: Finding,
}

/// The findings of one pod spec: what fails and what an exemption let through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    /// Violations.
    pub findings: Vec<Finding>,
    /// Exempted by `exemptions` entries.
    pub exempted: Vec<Exempted>,
}

/// Whether the field at `path` belongs to the container at `container_path` named `name`:
/// a field below it, or its seccomp or AppArmor annotation (`…annotations[KEY]`). The one
/// rule for the exemptions and for `--generate-exemptions`.
pub fn belongs_to(path: &str, container_path: &str, name: &str) -> bool {
    let below = path
        .strip_prefix(container_path)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'));
    below
        || path
            .strip_suffix(']')
            .and_then(|p| p.rsplit_once(".annotations["))
            .is_some_and(|(_, key)| {
                [
                    seccomp_container_annotation(name),
                    format!("{APPARMOR_CONTAINER_PREFIX}{name}"),
                ]
                .iter()
                .any(|k| k == key)
            })
}

/// The container a field path belongs to ([`belongs_to`]).
fn owner<'s, 'a>(
    path: &FieldPath,
    spec: &'s PodSpec<'a>,
    spec_path: &str,
) -> Option<&'s Container<'a>> {
    spec.all_containers()
        .find(|c| belongs_to(path.as_str(), c.path(spec_path).as_str(), &c.name))
}

/// AppArmor's per-container annotation key, before the container's name.
const APPARMOR_CONTAINER_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// Splits findings by `settings.check_exemptions`: a field below a container (or its
/// annotation) is exempt when an entry for the check matches the container and the value;
/// a field of the pod when the entry matches every container. A finding whose fields are
/// all exempt moves to `exempted`; one that keeps some is run again without the containers
/// whose every field is exempt, so its message names only what still fails.
#[inline(never)]
pub(crate) fn apply_check_exemptions(
    findings: Vec<Finding>,
    ctx: &Context<'_, '_>,
    namespace: &str,
    settings: &Settings,
) -> Checked {
    let mut checked = Checked::default();
    if settings.check_exemptions.is_empty() {
        checked.findings = findings;
        return checked;
    }
    for finding in findings {
        let entries: Vec<(usize, &CheckExemption)> = settings
            .check_exemptions
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.checks.contains(&finding.check)
                    && (e.namespaces.is_empty()
                        || e.namespaces.iter().any(|p| matches_pattern(p, namespace)))
            })
            .collect();
        if entries.is_empty() {
            checked.findings.push(finding);
            continue;
        }
        let mut kept: Vec<Field> = Vec::new();
        let mut by_entry: Vec<(usize, Vec<Field>)> = Vec::new();
        // Containers with a field that still fails.
        let mut failing: Vec<(ContainerList, usize)> = Vec::new();
        let mut exempt_containers: Vec<(ContainerList, usize)> = Vec::new();
        for field in &finding.fields {
            let container = owner(&field.path, ctx.spec, ctx.spec_path);
            let entry = entries.iter().find(|(_, e)| {
                let scope = match container {
                    Some(c) => e.matches_container(c),
                    None => ctx.spec.all_containers().all(|c| e.matches_container(c)),
                };
                scope && e.matches_value(&field.value)
            });
            let key = container.map(|c| (c.list, c.index));
            match entry {
                Some((index, _)) => {
                    match by_entry.iter_mut().find(|(i, _)| i == index) {
                        Some((_, fields)) => fields.push(field.clone()),
                        None => by_entry.push((*index, vec![field.clone()])),
                    }
                    if let Some(key) = key {
                        exempt_containers.push(key);
                    }
                }
                None => {
                    kept.push(field.clone());
                    if let Some(key) = key {
                        failing.push(key);
                    }
                }
            }
        }
        for (exemption, fields) in by_entry {
            checked.exempted.push(Exempted {
                exemption,
                finding: Finding {
                    fields,
                    ..finding.clone()
                },
            });
        }
        if kept.is_empty() {
            continue;
        }
        exempt_containers.retain(|key| !failing.contains(key));
        if exempt_containers.is_empty() {
            checked.findings.push(Finding {
                fields: kept,
                ..finding
            });
            continue;
        }
        let mut spec = ctx.spec.clone();
        let keep = |c: &Container<'_>| !exempt_containers.contains(&(c.list, c.index));
        spec.init_containers.retain(keep);
        spec.containers.retain(keep);
        spec.ephemeral_containers.retain(keep);
        let again = Context {
            spec: &spec,
            ..*ctx
        };
        match run_checks(&[finding.check], &again).into_iter().next() {
            // The message of the run without the exempt containers; the fields that still
            // fail keep the values the first run read.
            Some(rerun) => checked.findings.push(Finding {
                fields: kept,
                ..rerun
            }),
            None => checked.findings.push(Finding {
                fields: kept,
                ..finding
            }),
        }
    }
    checked
}
