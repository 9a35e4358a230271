//! `hostProbesAndHostLifecycle` (baseline, v1.34+): probes and lifecycle hooks must not
//! reach another host. Forbidden: a non-empty `host` on `httpGet` or `tcpSocket` of liveness,
//! readiness and startup probes and of `postStart`/`preStop` hooks.

use super::{pluralize, sorted_set, Context, Detail, Field, Finding};
use crate::pod::Handler;
use crate::CheckId;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let mut names = Vec::new();
    let mut hosts = Vec::new();
    let mut fields = Vec::new();
    for container in ctx.spec.all_containers() {
        let lifecycle = container.lifecycle.as_ref();
        let handlers: [(&str, Option<&Handler<'_>>); 5] = [
            ("livenessProbe", container.liveness_probe.as_deref()),
            ("readinessProbe", container.readiness_probe.as_deref()),
            ("startupProbe", container.startup_probe.as_deref()),
            (
                "lifecycle.postStart",
                lifecycle.and_then(|l| l.post_start.as_ref()),
            ),
            (
                "lifecycle.preStop",
                lifecycle.and_then(|l| l.pre_stop.as_ref()),
            ),
        ];
        for (at, handler) in handlers {
            let Some(handler) = handler else { continue };
            for (kind, field) in [
                ("httpGet", &handler.http_get),
                ("tcpSocket", &handler.tcp_socket),
            ] {
                let host = field.as_ref().and_then(|f| f.host.as_deref()).unwrap_or("");
                if !host.is_empty() {
                    names.push(container.name.as_ref());
                    hosts.push(host);
                    let path = ctx.container_field(container, &[at, ".", kind, ".host"].concat());
                    fields.push(Field::new(path, host));
                }
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    // PSA collects both containers and hosts in sets: sorted, without duplicates.
    let names = sorted_set(names);
    let hosts = sorted_set(hosts);
    let detail = Detail::new()
        .containers(&names)
        .text(" ")
        .text(pluralize("uses", "use", names.len()))
        .text(" ")
        .named(
            "probe or lifecycle host",
            "probe or lifecycle hosts",
            &hosts,
        )
        .done();
    Some(Finding::new(
        CheckId::HostProbesAndHostLifecycle,
        detail,
        fields,
    ))
}
