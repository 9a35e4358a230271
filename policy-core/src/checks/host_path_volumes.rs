//! `hostPathVolumes` (baseline): hostPath volumes expose the node's file system.
//! Forbidden: any `spec.volumes[*].hostPath`. podsec's `allowedHostPaths` lets volumes under
//! a prefix through, and with `readOnly: true` requires every mount of them to be read-only.

use super::{AllowedHostPath, Context, Detail, Field, Finding};
use crate::CheckId;

/// Whether `path` is `prefix` or below it, comparing whole path segments.
fn under_prefix(path: &str, prefix: &str) -> bool {
    let segments = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .map(str::to_owned)
            .collect()
    };
    let path = segments(path);
    let prefix = segments(prefix);
    path.len() >= prefix.len() && path.iter().zip(prefix.iter()).all(|(a, b)| a == b)
}

/// The allowance for `path`: `None` when no prefix matches, `Some(true)` when every
/// matching prefix requires read-only mounts, `Some(false)` when one allows writes.
fn allowance(allowed: &[AllowedHostPath], path: &str) -> Option<bool> {
    let mut matched = allowed
        .iter()
        .filter(|a| path.starts_with('/') && under_prefix(path, &a.path_prefix))
        .peekable();
    matched.peek()?;
    Some(matched.all(|a| a.read_only))
}

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let mut forbidden = Vec::new();
    let mut writable = Vec::new();
    let mut fields = Vec::new();
    for volume in &ctx.spec.volumes {
        let Some(path) = volume.host_path.as_deref() else {
            continue;
        };
        match allowance(&ctx.params.allowed_host_paths, path) {
            None => {
                forbidden.push(volume.name.as_ref());
                let field = ctx
                    .spec_field("volumes")
                    .index(volume.index)
                    .child("hostPath.path");
                fields.push(Field::new(field, path));
            }
            Some(false) => {}
            Some(true) => {
                let mut writers = Vec::new();
                for container in ctx.spec.all_containers() {
                    for (i, mount) in container.volume_mounts.iter().enumerate() {
                        if mount.name == volume.name && mount.read_only != Some(true) {
                            writers.push(container.name.as_ref());
                            let field = ctx
                                .container_field(container, "volumeMounts")
                                .index(i)
                                .child("readOnly");
                            fields.push(Field::new(field, mount.read_only));
                        }
                    }
                }
                if !writers.is_empty() {
                    writable.push(
                        Detail::new()
                            .text("volume \"")
                            .text(&volume.name)
                            .text("\" must be mounted readOnly by ")
                            .containers(&writers)
                            .done(),
                    );
                }
            }
        }
    }
    if forbidden.is_empty() && writable.is_empty() {
        return None;
    }
    let mut detail = Detail::new();
    if !forbidden.is_empty() {
        detail = detail.named("volume", "volumes", &forbidden);
        if !writable.is_empty() {
            detail = detail.text("; ");
        }
    }
    Some(Finding::new(
        CheckId::HostPathVolumes,
        detail.joined(&writable, "; ").done(),
        fields,
    ))
}

#[cfg(test)]
mod tests {
    use super::under_prefix;

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(under_prefix("/var/log", "/var/log"));
        assert!(under_prefix("/var/log/pods", "/var/log/"));
        assert!(!under_prefix("/var/logs", "/var/log"));
        assert!(under_prefix("/anything", "/"));
        assert!(!under_prefix("/var", "/var/log"));
    }
}
