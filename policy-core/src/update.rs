//! PSA's rule for updates: which UPDATE requests are evaluated again. A pod is re-checked
//! only when an update could change the verdict of a running pod (upstream's
//! `isSignificantPodUpdate` in `admission/admission.go`); a workload whenever its pod
//! template changed as the checks read it.

use crate::checks::seccomp_container_annotation;
use crate::pod::Container;
use crate::workload::{PodUnderReview, ResourceKind};

/// PSA's rule for pod updates (only container count, image or seccomp annotation changes
/// and added ephemeral containers are re-evaluated); for workloads, any change to the pod
/// template as the checks read it.
pub(crate) fn significant_update(
    kind: ResourceKind,
    new: &PodUnderReview<'_>,
    old: &PodUnderReview<'_>,
) -> bool {
    if kind != ResourceKind::Pod {
        return new.pod_meta() != old.pod_meta() || new.spec != old.spec;
    }
    let (Some(new_spec), Some(old_spec)) = (&new.spec, &old.spec) else {
        return true;
    };
    if new_spec.containers.len() != old_spec.containers.len()
        || new_spec.init_containers.len() != old_spec.init_containers.len()
    {
        return true;
    }
    let changed = |n: &Container<'_>, o: &Container<'_>| {
        let key = seccomp_container_annotation(&n.name);
        n.image != o.image || new.pod_meta().annotation(&key) != old.pod_meta().annotation(&key)
    };
    let regular = new_spec.containers.iter().zip(&old_spec.containers);
    let init = new_spec
        .init_containers
        .iter()
        .zip(&old_spec.init_containers);
    if regular.chain(init).any(|(n, o)| changed(n, o)) {
        return true;
    }
    new_spec.ephemeral_containers.iter().any(|n| {
        match old_spec
            .ephemeral_containers
            .iter()
            .find(|o| o.name == n.name)
        {
            None => true,
            Some(o) => changed(n, o),
        }
    })
}
