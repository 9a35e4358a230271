//! podsec's exemptions and scoping, in the order a request meets them: by request
//! (namespace patterns, checked namespaces, usernames: PSA's username and namespace
//! exemptions plus podsec's patterns), by object (label selector, runtime class: PSA's
//! runtime-class exemption), and by container (`excludedContainers`, `excludedImages`).

use crate::pod::{Container, PodSpec};
use crate::settings::{matches_pattern, Settings};
use crate::workload::PodUnderReview;

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
