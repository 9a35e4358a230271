//! `appArmorProfile` (baseline): AppArmor must not be disabled or overridden.
//! Allowed: `appArmorProfile.type` `RuntimeDefault` or `Localhost` on the pod and every
//! container; annotations `container.apparmor.security.beta.kubernetes.io/*` empty,
//! `runtime/default` or `localhost/*`. Both channels are read at every policy version.

use super::{containers_phrase, go_quote, pluralize, sorted_set, Context, Detail, Field, Finding};
use crate::CheckId;

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn allowed_type(profile: &str) -> bool {
    matches!(profile, "RuntimeDefault" | "Localhost")
}

fn allowed_annotation(value: &str) -> bool {
    value.is_empty() || value == "runtime/default" || value.starts_with("localhost/")
}

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let mut setters = Vec::new();
    let mut bad_values = Vec::new();
    let mut fields = Vec::new();

    let pod_profile = ctx
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.app_armor_profile.as_ref());
    if let Some(profile) = pod_profile {
        if !allowed_type(profile.type_str()) {
            setters.push("pod".to_owned());
            bad_values.push(profile.type_str());
            let path = ctx.spec_field("securityContext.appArmorProfile.type");
            fields.push(Field::new(path, profile.type_str()));
        }
    }

    let mut containers = Vec::new();
    for container in ctx.spec.all_containers() {
        let profile = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.app_armor_profile.as_ref());
        if let Some(profile) = profile {
            if !allowed_type(profile.type_str()) {
                containers.push(container.name.as_ref());
                bad_values.push(profile.type_str());
                let path = ctx.container_field(container, "securityContext.appArmorProfile.type");
                fields.push(Field::new(path, profile.type_str()));
            }
        }
    }
    if !containers.is_empty() {
        setters.push(containers_phrase(&containers));
    }

    let mut annotations = Vec::new();
    for (key, value) in &ctx.meta.annotations {
        if key.starts_with(ANNOTATION_PREFIX) && !allowed_annotation(value) {
            annotations.push([key, "=", &go_quote(value)].concat());
            fields.push(Field::new(ctx.annotation_field(key), value.as_ref()));
        }
    }
    super::sort(&mut annotations);

    let mut values: Vec<String> = sorted_set(bad_values)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if !annotations.is_empty() {
        setters.push(pluralize("annotation", "annotations", annotations.len()).to_owned());
        values.extend(annotations);
    }
    if setters.is_empty() {
        return None;
    }
    let reason = pluralize(
        "forbidden AppArmor profile",
        "forbidden AppArmor profiles",
        values.len(),
    );
    let detail = Detail::new()
        .joined(&setters, " and ")
        .text(" must not set AppArmor profile type to ")
        .quoted(&values)
        .done();
    Some(Finding::with_reason(
        CheckId::AppArmorProfile,
        reason,
        detail,
        fields,
    ))
}
