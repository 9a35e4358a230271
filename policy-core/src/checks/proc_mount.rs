//! `procMount` (baseline) and `procMount_restricted` (restricted, v1.35+): the default
//! `/proc` masks must stay. Allowed: `securityContext.procMount` unset or `Default`.
//! From v1.35 the baseline check lets pods in a user namespace (`hostUsers: false`) through;
//! the restricted check, which replaces it at the restricted level, does not.

use super::{sorted_set, Context, Detail, Field, Finding};
use crate::CheckId;

pub(super) fn check_baseline(ctx: &Context<'_, '_>) -> Option<Finding> {
    if ctx.minor >= 35 && ctx.spec.in_user_namespace() {
        return None;
    }
    check_default_proc_mount(ctx, CheckId::ProcMount)
}

pub(super) fn check_restricted(ctx: &Context<'_, '_>) -> Option<Finding> {
    check_default_proc_mount(ctx, CheckId::ProcMountRestricted)
}

fn check_default_proc_mount(ctx: &Context<'_, '_>, id: CheckId) -> Option<Finding> {
    let mut names = Vec::new();
    let mut types = Vec::new();
    let mut fields = Vec::new();
    for container in ctx.spec.all_containers() {
        let proc_mount = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.proc_mount.as_deref());
        if let Some(value) = proc_mount {
            if value != "Default" {
                names.push(container.name.as_ref());
                types.push(value);
                let path = ctx.container_field(container, "securityContext.procMount");
                fields.push(Field::new(path, value));
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    let detail = Detail::new()
        .containers(&names)
        .text(" must not set securityContext.procMount to ")
        .quoted(&sorted_set(types))
        .done();
    Some(Finding::new(id, detail, fields))
}
