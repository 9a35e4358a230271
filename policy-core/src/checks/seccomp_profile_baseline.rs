//! `seccompProfile_baseline` (baseline): seccomp must not be explicitly disabled.
//! Before v1.19 the alpha annotations are read (`runtime/default`, `docker/default`,
//! `localhost/*` allowed); from v1.19 the `seccompProfile.type` fields (`RuntimeDefault`,
//! `Localhost` or unset allowed).

use super::{containers_phrase, go_quote, sorted_set, Context, Detail, Field, Finding};
use crate::CheckId;

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// The container annotation key for `name`.
pub(crate) fn container_annotation(name: &str) -> String {
    [CONTAINER_ANNOTATION_PREFIX, name].concat()
}

/// `RuntimeDefault` and `Localhost` are the profile types the standards accept.
pub(super) fn valid_type(type_: &str) -> bool {
    matches!(type_, "RuntimeDefault" | "Localhost")
}

fn valid_annotation(value: &str) -> bool {
    value == "runtime/default" || value == "docker/default" || value.starts_with("localhost/")
}

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    if ctx.minor < 19 {
        check_annotations(ctx)
    } else {
        check_fields(ctx)
    }
}

fn check_annotations(ctx: &Context<'_, '_>) -> Option<Finding> {
    let mut forbidden = Vec::new();
    let mut fields = Vec::new();
    let mut inspect = |key: &str| {
        if let Some(value) = ctx.meta.annotation(key) {
            if !valid_annotation(value) {
                forbidden.push([key, "=", &go_quote(value)].concat());
                fields.push(Field::new(ctx.annotation_field(key), value));
            }
        }
    };
    inspect(POD_ANNOTATION);
    for container in ctx.spec.all_containers() {
        inspect(&container_annotation(&container.name));
    }
    if forbidden.is_empty() {
        return None;
    }
    let forbidden = super::sorted_set(forbidden);
    let detail = Detail::new()
        .text("forbidden ")
        .text(super::pluralize(
            "annotation",
            "annotations",
            forbidden.len(),
        ))
        .text(" ")
        .joined(&forbidden, ", ")
        .done();
    Some(Finding::new(
        CheckId::SeccompProfileBaseline,
        detail,
        fields,
    ))
}

fn check_fields(ctx: &Context<'_, '_>) -> Option<Finding> {
    let mut setters = Vec::new();
    let mut values = Vec::new();
    let mut fields = Vec::new();
    let pod_profile = ctx
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref());
    if let Some(profile) = pod_profile {
        if !valid_type(profile.type_str()) {
            setters.push("pod".to_owned());
            values.push(profile.type_str());
            let path = ctx.spec_field("securityContext.seccompProfile.type");
            fields.push(Field::new(path, profile.type_str()));
        }
    }
    let mut containers = Vec::new();
    for container in ctx.spec.all_containers() {
        let profile = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref());
        if let Some(profile) = profile {
            if !valid_type(profile.type_str()) {
                containers.push(container.name.as_ref());
                values.push(profile.type_str());
                let path = ctx.container_field(container, "securityContext.seccompProfile.type");
                fields.push(Field::new(path, profile.type_str()));
            }
        }
    }
    if !containers.is_empty() {
        setters.push(containers_phrase(&containers));
    }
    if setters.is_empty() {
        return None;
    }
    let detail = Detail::new()
        .joined(&setters, " and ")
        .text(" must not set securityContext.seccompProfile.type to ")
        .quoted(&sorted_set(values))
        .done();
    Some(Finding::new(
        CheckId::SeccompProfileBaseline,
        detail,
        fields,
    ))
}
