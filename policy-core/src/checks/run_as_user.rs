//! `runAsUser` (restricted, v1.23+): `runAsUser: 0` (root) is forbidden on the pod and on
//! every container. From v1.35 pods in a user namespace (`hostUsers: false`) are exempt.

use super::{containers_phrase, Context, Detail, Field, Finding};
use crate::CheckId;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    if ctx.minor >= 35 && ctx.spec.in_user_namespace() {
        return None;
    }
    let mut setters = Vec::new();
    let mut fields = Vec::new();
    if ctx
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_user)
        == Some(0)
    {
        setters.push("pod".to_owned());
        fields.push(Field::new(ctx.spec_field("securityContext.runAsUser"), 0));
    }
    let mut containers = Vec::new();
    for container in ctx.spec.all_containers() {
        if container
            .security_context
            .as_ref()
            .and_then(|sc| sc.run_as_user)
            == Some(0)
        {
            containers.push(container.name.as_ref());
            let path = ctx.container_field(container, "securityContext.runAsUser");
            fields.push(Field::new(path, 0));
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
        .text(" must not set runAsUser=0")
        .done();
    Some(Finding::new(CheckId::RunAsUser, detail, fields))
}
