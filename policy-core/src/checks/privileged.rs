//! `privileged` (baseline): privileged containers disable most security mechanisms.
//! Forbidden: `securityContext.privileged: true` on any container.

use super::{Context, Detail, Field, Finding};
use crate::CheckId;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let mut names = Vec::new();
    let mut fields = Vec::new();
    for container in ctx.spec.all_containers() {
        let privileged = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.privileged);
        if privileged == Some(true) {
            names.push(container.name.as_ref());
            fields.push(Field::new(
                ctx.container_field(container, "securityContext.privileged"),
                true,
            ));
        }
    }
    if names.is_empty() {
        return None;
    }
    let detail = Detail::new()
        .containers(&names)
        .text(" must not set securityContext.privileged=true")
        .done();
    Some(Finding::new(CheckId::Privileged, detail, fields))
}
