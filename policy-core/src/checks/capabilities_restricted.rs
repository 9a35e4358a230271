//! `capabilities_restricted` (restricted, v1.22+): every container must drop `ALL` and may
//! add back only `NET_BIND_SERVICE`. From v1.25 Windows pods are exempt.

use super::{Context, Detail, Field, Finding};
use crate::CheckId;
use serde_json::Value;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    if ctx.minor >= 25 && ctx.spec.is_windows() {
        return None;
    }
    let mut missing_drop = Vec::new();
    let mut adding = Vec::new();
    let mut forbidden = Vec::new();
    let mut fields = Vec::new();
    for container in ctx.spec.all_containers() {
        let caps = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.capabilities.as_ref());
        let drop_path = || ctx.container_field(container, "securityContext.capabilities.drop");
        let Some(caps) = caps else {
            missing_drop.push(container.name.as_ref());
            fields.push(Field::new(drop_path(), Value::Null));
            continue;
        };
        if !caps.drop.iter().any(|c| c == "ALL") {
            missing_drop.push(container.name.as_ref());
            let dropped: Vec<&str> = caps.drop.iter().map(|c| c.as_ref()).collect();
            fields.push(Field::new(drop_path(), dropped));
        }
        let mut bad = false;
        for (i, cap) in caps.add.iter().enumerate() {
            if cap != "NET_BIND_SERVICE" {
                bad = true;
                forbidden.push(cap.as_ref());
                let path = ctx
                    .container_field(container, "securityContext.capabilities.add")
                    .index(i);
                fields.push(Field::new(path, cap.as_ref()));
            }
        }
        if bad {
            adding.push(container.name.as_ref());
        }
    }
    if missing_drop.is_empty() && adding.is_empty() {
        return None;
    }
    let mut detail = Detail::new();
    if !missing_drop.is_empty() {
        detail = detail
            .containers(&missing_drop)
            .text(" must set securityContext.capabilities.drop=[\"ALL\"]");
    }
    if !adding.is_empty() {
        if !missing_drop.is_empty() {
            detail = detail.text("; ");
        }
        detail = detail.adds_forbidden(&adding, forbidden);
    }
    Some(Finding::new(
        CheckId::CapabilitiesRestricted,
        detail.done(),
        fields,
    ))
}
