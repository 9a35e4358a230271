//! `restrictedVolumes` (restricted): only volume types that cannot reach the node are
//! allowed: configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim,
//! projected and secret. Replaces `hostPathVolumes` at the restricted level.

use super::{pluralize, sorted_set, Context, Detail, Field, Finding};
use crate::pod::VolumeKind;
use crate::CheckId;

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let mut names = Vec::new();
    let mut types = Vec::new();
    let mut fields = Vec::new();
    for volume in &ctx.spec.volumes {
        let type_ = match volume.kind {
            VolumeKind::Allowed => continue,
            VolumeKind::Restricted(type_) => type_,
            VolumeKind::Unknown => "unknown",
        };
        names.push(volume.name.as_ref());
        types.push(type_);
        let path = ctx.spec_field("volumes").index(volume.index);
        fields.push(Field::new(path, type_));
    }
    if names.is_empty() {
        return None;
    }
    let types = sorted_set(types);
    let detail = Detail::new()
        .named("volume", "volumes", &names)
        .text(" ")
        .text(pluralize("uses", "use", names.len()))
        .text(" ")
        .named("restricted volume type", "restricted volume types", &types)
        .done();
    Some(Finding::new(CheckId::RestrictedVolumes, detail, fields))
}
