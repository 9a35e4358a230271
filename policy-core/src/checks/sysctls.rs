//! `sysctls` (baseline): only namespaced, isolated sysctls are allowed. The safe list grows
//! with the policy version: v1.27, v1.29, v1.32 and v1.37 each add names.

use super::{Context, Field, Finding};
use crate::CheckId;

/// Each safe sysctl with the first policy minor version that allows it.
const SAFE_SYSCTLS: [(&str, u32); 14] = [
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
    ("net.ipv4.tcp_slow_start_after_idle", 37),
    ("net.ipv4.tcp_notsent_lowat", 37),
];

fn safe(minor: u32, name: &str) -> bool {
    SAFE_SYSCTLS
        .iter()
        .any(|(safe, since)| *safe == name && *since <= minor)
}

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let sysctls = ctx
        .spec
        .security_context
        .as_ref()
        .map(|sc| sc.sysctls.as_slice())?;
    let mut names = Vec::new();
    let mut fields = Vec::new();
    for (i, sysctl) in sysctls.iter().enumerate() {
        if !safe(ctx.minor, &sysctl.name) {
            names.push(sysctl.name.as_ref());
            let path = ctx
                .spec_field("securityContext.sysctls")
                .index(i)
                .child("name");
            fields.push(Field::new(path, sysctl.name.as_ref()));
        }
    }
    if names.is_empty() {
        return None;
    }
    Some(Finding::new(CheckId::Sysctls, names.join(", "), fields))
}
