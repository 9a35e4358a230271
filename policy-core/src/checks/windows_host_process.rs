//! `windowsHostProcess` (baseline): Windows HostProcess containers have host access.
//! Forbidden: `windowsOptions.hostProcess: true` on the pod or any container.

use super::{containers_phrase, Context, Detail, Field, Finding};
use crate::CheckId;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let mut setters = Vec::new();
    let mut fields = Vec::new();
    let pod_host_process = ctx
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.windows_options.as_ref())
        .and_then(|w| w.host_process);
    if pod_host_process == Some(true) {
        setters.push("pod".to_owned());
        let path = ctx.spec_field("securityContext.windowsOptions.hostProcess");
        fields.push(Field::new(path, true));
    }
    let mut containers = Vec::new();
    for container in ctx.spec.all_containers() {
        let host_process = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.windows_options.as_ref())
            .and_then(|w| w.host_process);
        if host_process == Some(true) {
            containers.push(container.name.as_ref());
            let path = ctx.container_field(container, "securityContext.windowsOptions.hostProcess");
            fields.push(Field::new(path, true));
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
        .text(" must not set securityContext.windowsOptions.hostProcess=true")
        .done();
    Some(Finding::new(CheckId::WindowsHostProcess, detail, fields))
}
