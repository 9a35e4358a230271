//! `hostPorts` (baseline): host ports bind the node's network.
//! Forbidden: any non-zero `ports[*].hostPort`. podsec's `minPort`/`maxPort` let ports in an
//! inclusive range through.

use super::{pluralize, Context, Detail, Field, Finding};
use crate::field_path::push_decimal;
use crate::CheckId;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let (min, max) = (ctx.params.min_port, ctx.params.max_port);
    let mut names = Vec::new();
    let mut ports = Vec::new();
    let mut fields = Vec::new();
    for container in ctx.spec.all_containers() {
        let mut bad = false;
        for (i, port) in container.ports.iter().enumerate() {
            let host_port = port.host_port.unwrap_or(0);
            if host_port != 0 && !(min <= host_port && host_port <= max) {
                bad = true;
                let mut port = String::with_capacity(8);
                push_decimal(&mut port, host_port.unsigned_abs(), host_port < 0);
                ports.push(port);
                let field = ctx
                    .container_field(container, "ports")
                    .index(i)
                    .child("hostPort");
                fields.push(Field::new(field, host_port));
            }
        }
        if bad {
            names.push(container.name.as_ref());
        }
    }
    if names.is_empty() {
        return None;
    }
    // PSA keeps the ports in a string set: sorted as strings, without duplicates.
    let ports = super::sorted_set(ports);
    let detail = Detail::new()
        .containers(&names)
        .text(" ")
        .text(pluralize("uses", "use", names.len()))
        .text(" ")
        .text(pluralize("hostPort", "hostPorts", ports.len()))
        .text(" ")
        .joined(&ports, ", ")
        .done();
    Some(Finding::new(CheckId::HostPorts, detail, fields))
}
