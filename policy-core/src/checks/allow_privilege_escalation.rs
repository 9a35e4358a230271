//! `allowPrivilegeEscalation` (restricted, v1.8+): every container must set
//! `securityContext.allowPrivilegeEscalation: false`. From v1.25 Windows pods
//! (`spec.os.name: windows`) are exempt.

use super::{Context, Detail, Field, Finding};
use crate::CheckId;
use serde_json::Value;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    if ctx.minor >= 25 && ctx.spec.is_windows() {
        return None;
    }
    let mut names = Vec::new();
    let mut fields = Vec::new();
    for container in ctx.spec.all_containers() {
        let value = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.allow_privilege_escalation);
        if value != Some(false) {
            names.push(container.name.as_ref());
            let path = ctx.container_field(container, "securityContext.allowPrivilegeEscalation");
            fields.push(Field::new(path, value.map_or(Value::Null, Value::Bool)));
        }
    }
    if names.is_empty() {
        return None;
    }
    let detail = Detail::new()
        .containers(&names)
        .text(" must set securityContext.allowPrivilegeEscalation=false")
        .done();
    Some(Finding::new(
        CheckId::AllowPrivilegeEscalation,
        detail,
        fields,
    ))
}
