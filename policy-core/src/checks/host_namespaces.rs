//! `hostNamespaces` (baseline): sharing the host's network, PID or IPC namespace.
//! Forbidden: `spec.hostNetwork`, `spec.hostPID`, `spec.hostIPC` set to `true`.
//! podsec's `allowHostNetwork` setting lets `hostNetwork` through.

use super::{Context, Detail, Field, Finding};
use crate::CheckId;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let spec = ctx.spec;
    // In the order PSA appends them (check_hostNamespaces.go): network, PID, IPC; never
    // sorted.
    let candidates = [
        (
            "hostNetwork",
            spec.host_network == Some(true) && !ctx.params.allow_host_network,
        ),
        ("hostPID", spec.host_pid == Some(true)),
        ("hostIPC", spec.host_ipc == Some(true)),
    ];
    let mut detail = Detail::new();
    let mut fields = Vec::new();
    for (field, set) in candidates {
        if set {
            if !fields.is_empty() {
                detail = detail.text(", ");
            }
            detail = detail.text(field).text("=true");
            fields.push(Field::new(ctx.spec_field(field), true));
        }
    }
    if fields.is_empty() {
        return None;
    }
    Some(Finding::new(CheckId::HostNamespaces, detail.done(), fields))
}
