//! `runAsNonRoot` (restricted): containers must run as non-root: `runAsNonRoot: true` on the
//! pod, or on every container that does not inherit it; `false` is forbidden everywhere.
//! From v1.35 pods in a user namespace (`hostUsers: false`) are exempt.

use super::{containers_phrase, Context, Detail, Field, Finding};
use crate::CheckId;
use serde_json::Value;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    if ctx.minor >= 35 && ctx.spec.in_user_namespace() {
        return None;
    }
    let mut setters = Vec::new();
    let mut fields = Vec::new();
    let pod_value = ctx
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_non_root);
    if pod_value == Some(false) {
        setters.push("pod".to_owned());
        fields.push(Field::new(
            ctx.spec_field("securityContext.runAsNonRoot"),
            false,
        ));
    }
    let pod_non_root = pod_value == Some(true);

    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    let mut implicit_fields = Vec::new();
    for container in ctx.spec.all_containers() {
        let value = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.run_as_non_root);
        let path = || ctx.container_field(container, "securityContext.runAsNonRoot");
        match value {
            Some(false) => {
                explicit.push(container.name.as_ref());
                fields.push(Field::new(path(), false));
            }
            Some(true) => {}
            None if !pod_non_root => {
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
            .text(" must not set securityContext.runAsNonRoot=false")
            .done();
        return Some(Finding::new(CheckId::RunAsNonRoot, detail, fields));
    }
    if !implicit.is_empty() {
        let detail = Detail::new()
            .text("pod or ")
            .containers(&implicit)
            .text(" must set securityContext.runAsNonRoot=true")
            .done();
        return Some(Finding::new(CheckId::RunAsNonRoot, detail, implicit_fields));
    }
    None
}
