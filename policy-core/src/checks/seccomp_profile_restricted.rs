//! `seccompProfile_restricted` (restricted, v1.19+): seccomp must be explicitly on:
//! `seccompProfile.type` `RuntimeDefault` or `Localhost` on the pod, or on every container
//! that does not inherit it. From v1.25 Windows pods are exempt. Replaces
//! `seccompProfile_baseline` at the restricted level.

use super::seccomp_profile_baseline::valid_type;
use super::{containers_phrase, sorted_set, Context, Detail, Field, Finding};
use crate::CheckId;
use serde_json::Value;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    if ctx.minor >= 25 && ctx.spec.is_windows() {
        return None;
    }
    let mut setters = Vec::new();
    let mut values = Vec::new();
    let mut fields = Vec::new();
    let mut pod_set = false;
    let pod_profile = ctx
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref());
    if let Some(profile) = pod_profile {
        if valid_type(profile.type_str()) {
            pod_set = true;
        } else {
            setters.push("pod".to_owned());
            values.push(profile.type_str());
            let path = ctx.spec_field("securityContext.seccompProfile.type");
            fields.push(Field::new(path, profile.type_str()));
        }
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    let mut implicit_fields = Vec::new();
    for container in ctx.spec.all_containers() {
        let profile = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref());
        let path = || ctx.container_field(container, "securityContext.seccompProfile.type");
        match profile {
            Some(profile) if !valid_type(profile.type_str()) => {
                explicit.push(container.name.as_ref());
                values.push(profile.type_str());
                fields.push(Field::new(path(), profile.type_str()));
            }
            Some(_) => {}
            None if !pod_set => {
                implicit.push(container.name.as_ref());
                implicit_fields.push(Field::new(path(), Value::Null));
            }
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_phrase(&explicit));
    }
    if !setters.is_empty() {
        let detail = Detail::new()
            .joined(&setters, " and ")
            .text(" must not set securityContext.seccompProfile.type to ")
            .quoted(&sorted_set(values))
            .done();
        return Some(Finding::new(
            CheckId::SeccompProfileRestricted,
            detail,
            fields,
        ));
    }
    if !implicit.is_empty() {
        let detail = Detail::new()
            .text("pod or ")
            .containers(&implicit)
            .text(" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"")
            .done();
        return Some(Finding::new(
            CheckId::SeccompProfileRestricted,
            detail,
            implicit_fields,
        ));
    }
    None
}
