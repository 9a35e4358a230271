//! `capabilities_baseline` (baseline): only a default set of capabilities may be added.
//! podsec's `allowedCapabilities` replaces that set (`"*"` allows any) and
//! `requiredDropCapabilities` makes every container drop the named capabilities.

use super::{sorted_set, Context, Detail, Field, Finding};
use crate::catalog::STANDARD_CAPABILITIES;
use crate::CheckId;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let allowed = |cap: &str| match &ctx.params.allowed_capabilities {
        None => STANDARD_CAPABILITIES.contains(&cap),
        Some(list) => list.iter().any(|a| a == "*" || a == cap),
    };
    let required = &ctx.params.required_drop_capabilities;

    let mut adding = Vec::new();
    let mut forbidden = Vec::new();
    let mut not_dropping = Vec::new();
    let mut missing = Vec::new();
    let mut fields = Vec::new();
    for container in ctx.spec.all_containers() {
        let caps = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.capabilities.as_ref());
        if let Some(caps) = caps {
            let mut bad = false;
            for (i, cap) in caps.add.iter().enumerate() {
                if !allowed(cap) {
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
        if !required.is_empty() {
            let drop = caps.map(|c| c.drop.as_slice()).unwrap_or_default();
            let drops_all = drop.iter().any(|d| d == "ALL");
            let absent: Vec<&str> = required
                .iter()
                .map(String::as_str)
                .filter(|r| !drops_all && !drop.iter().any(|d| d == r))
                .collect();
            if !absent.is_empty() {
                not_dropping.push(container.name.as_ref());
                let path = ctx.container_field(container, "securityContext.capabilities.drop");
                fields.push(Field::new(path, absent.clone()));
                missing.extend(absent);
            }
        }
    }
    if adding.is_empty() && not_dropping.is_empty() {
        return None;
    }
    let mut detail = Detail::new();
    if !adding.is_empty() {
        detail = detail.adds_forbidden(&adding, forbidden);
    }
    if !not_dropping.is_empty() {
        if !adding.is_empty() {
            detail = detail.text("; ");
        }
        detail = detail
            .containers(&not_dropping)
            .text(" must include ")
            .quoted(&sorted_set(missing))
            .text(" in securityContext.capabilities.drop");
    }
    Some(Finding::new(
        CheckId::CapabilitiesBaseline,
        detail.done(),
        fields,
    ))
}
