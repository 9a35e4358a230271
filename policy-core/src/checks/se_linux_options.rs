//! `seLinuxOptions` (baseline): custom SELinux users and roles are forbidden, and the type
//! must be one of the container types (`container_engine_t` joins the list at v1.31).

use super::{containers_phrase, sorted_set, Context, Detail, Field, Finding};
use crate::field_path::FieldPath;
use crate::pod::SeLinuxOptions;
use crate::CheckId;

fn allowed_type(minor: u32, type_: &str) -> bool {
    matches!(
        type_,
        "" | "container_t" | "container_init_t" | "container_kvm_t"
    ) || (minor >= 31 && type_ == "container_engine_t")
}

#[derive(Default)]
struct Faults<'t> {
    types: Vec<&'t str>,
    user: bool,
    role: bool,
    fields: Vec<Field>,
}

impl<'t> Faults<'t> {
    /// Records what is wrong with `options` at `base`; true when something is.
    fn inspect(&mut self, minor: u32, options: &'t SeLinuxOptions<'_>, base: FieldPath) -> bool {
        let mut bad = false;
        let type_ = options.type_.as_deref().unwrap_or("");
        if !allowed_type(minor, type_) {
            bad = true;
            self.types.push(type_);
            self.fields.push(Field::new(base.child("type"), type_));
        }
        if let Some(user) = options.user.as_deref().filter(|u| !u.is_empty()) {
            bad = true;
            self.user = true;
            self.fields.push(Field::new(base.child("user"), user));
        }
        if let Some(role) = options.role.as_deref().filter(|r| !r.is_empty()) {
            bad = true;
            self.role = true;
            self.fields.push(Field::new(base.child("role"), role));
        }
        bad
    }
}

pub(super) fn check(ctx: &Context<'_, '_>) -> Option<Finding> {
    let mut faults = Faults::default();
    let mut setters = Vec::new();
    let pod_options = ctx
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.se_linux_options.as_ref());
    if let Some(options) = pod_options {
        let base = ctx.spec_field("securityContext.seLinuxOptions");
        if faults.inspect(ctx.minor, options, base) {
            setters.push("pod".to_owned());
        }
    }
    let mut containers = Vec::new();
    for container in ctx.spec.all_containers() {
        let options = container
            .security_context
            .as_ref()
            .and_then(|sc| sc.se_linux_options.as_ref());
        if let Some(options) = options {
            let base = ctx.container_field(container, "securityContext.seLinuxOptions");
            if faults.inspect(ctx.minor, options, base) {
                containers.push(container.name.as_ref());
            }
        }
    }
    if !containers.is_empty() {
        setters.push(containers_phrase(&containers));
    }
    if setters.is_empty() {
        return None;
    }
    let mut detail = Detail::new()
        .joined(&setters, " and ")
        .text(" set forbidden securityContext.seLinuxOptions: ");
    let types = sorted_set(faults.types);
    let mut separator = "";
    if !types.is_empty() {
        detail = detail.named("type", "types", &types);
        separator = "; ";
    }
    if faults.user {
        detail = detail.text(separator).text("user may not be set");
        separator = "; ";
    }
    if faults.role {
        detail = detail.text(separator).text("role may not be set");
    }
    let detail = detail.done();
    Some(Finding::new(CheckId::SeLinuxOptions, detail, faults.fields))
}
