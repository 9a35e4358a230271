//! Workloads: the kinds podsec evaluates, where each keeps its pod template, how the pod
//! under review is taken out of an object, and the API server's defaulting that changes a
//! verdict.
//!
//! Defaulting is for objects that never went through an API server (manifests on disk,
//! the playground); admission requests from a cluster are already defaulted. One rule
//! matters to the checks: a volume with no source becomes an `emptyDir` volume (core/v1
//! `SetDefaults_Volume`); without it `restrictedVolumes` would report the volume's type as
//! `"unknown"`.

use crate::pod::{ObjectMeta, PodSpec};
use crate::request::KubeObject;
use serde_json::{Map, Value};

/// The kinds podsec evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// core/v1 Pod.
    Pod,
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// batch/v1 Job.
    Job,
    /// batch/v1 CronJob.
    CronJob,
    /// core/v1 ReplicationController.
    ReplicationController,
    /// core/v1 PodTemplate.
    PodTemplate,
}

impl ResourceKind {
    /// Every kind podsec evaluates, with its API group.
    pub const ALL: [(ResourceKind, &'static str); 9] = [
        (ResourceKind::Pod, ""),
        (ResourceKind::Deployment, "apps"),
        (ResourceKind::ReplicaSet, "apps"),
        (ResourceKind::StatefulSet, "apps"),
        (ResourceKind::DaemonSet, "apps"),
        (ResourceKind::Job, "batch"),
        (ResourceKind::CronJob, "batch"),
        (ResourceKind::ReplicationController, ""),
        (ResourceKind::PodTemplate, ""),
    ];

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Pod => "Pod",
            ResourceKind::Deployment => "Deployment",
            ResourceKind::ReplicaSet => "ReplicaSet",
            ResourceKind::StatefulSet => "StatefulSet",
            ResourceKind::DaemonSet => "DaemonSet",
            ResourceKind::Job => "Job",
            ResourceKind::CronJob => "CronJob",
            ResourceKind::ReplicationController => "ReplicationController",
            ResourceKind::PodTemplate => "PodTemplate",
        }
    }

    /// The API group the kind lives in (`""` for core).
    pub fn group(self) -> &'static str {
        ResourceKind::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, g)| *g)
    }

    /// The kind for an API group and kind name, if podsec evaluates it.
    pub fn from_group_kind(group: &str, kind: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .iter()
            .find(|(k, g)| k.as_str() == kind && *g == group)
            .map(|(k, _)| *k)
    }

    /// The resource (plural, lower case) of the kind, as an AdmissionRequest names it.
    pub fn resource(self) -> &'static str {
        match self {
            ResourceKind::Pod => "pods",
            ResourceKind::Deployment => "deployments",
            ResourceKind::ReplicaSet => "replicasets",
            ResourceKind::StatefulSet => "statefulsets",
            ResourceKind::DaemonSet => "daemonsets",
            ResourceKind::Job => "jobs",
            ResourceKind::CronJob => "cronjobs",
            ResourceKind::ReplicationController => "replicationcontrollers",
            ResourceKind::PodTemplate => "podtemplates",
        }
    }

    /// Where the pod spec and pod metadata sit in an object of this kind.
    pub fn pod_paths(self) -> (&'static str, &'static str) {
        match self {
            ResourceKind::Pod => ("spec", "metadata"),
            ResourceKind::CronJob => (
                "spec.jobTemplate.spec.template.spec",
                "spec.jobTemplate.spec.template.metadata",
            ),
            ResourceKind::PodTemplate => ("template.spec", "template.metadata"),
            _ => ("spec.template.spec", "spec.template.metadata"),
        }
    }
}

/// A pod spec found in an object, with the metadata of the pod and of the object.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PodUnderReview<'a> {
    /// The object's own metadata.
    pub object_meta: ObjectMeta<'a>,
    /// A workload's pod template metadata (`None` for a pod, whose metadata is its own).
    pub template_meta: Option<ObjectMeta<'a>>,
    /// The pod spec, when the object has one.
    pub spec: Option<PodSpec<'a>>,
}

impl<'a> PodUnderReview<'a> {
    /// The pod's metadata: a workload's template metadata, or the pod's own.
    pub fn pod_meta(&self) -> &ObjectMeta<'a> {
        self.template_meta.as_ref().unwrap_or(&self.object_meta)
    }
}

impl<'a> KubeObject<'a> {
    /// The pod (or pod template) of an object of `kind`.
    pub fn into_pod(self, kind: ResourceKind) -> PodUnderReview<'a> {
        let object_meta = self.metadata.unwrap_or_default();
        let template = match kind {
            ResourceKind::Pod => {
                let mut spec = self.spec.map(|s| *s);
                if let Some(spec) = spec.as_mut() {
                    spec.number_containers();
                }
                return PodUnderReview {
                    object_meta,
                    template_meta: None,
                    spec,
                };
            }
            ResourceKind::PodTemplate => self.template.map(|t| *t),
            ResourceKind::CronJob => self
                .spec
                .and_then(|s| s.job_template)
                .and_then(|j| j.spec)
                .and_then(|s| s.template)
                .map(|t| *t),
            _ => self.spec.and_then(|s| s.template).map(|t| *t),
        };
        let template = template.unwrap_or_default();
        let mut spec = template.spec;
        if let Some(spec) = spec.as_mut() {
            spec.number_containers();
        }
        PodUnderReview {
            object_meta,
            template_meta: Some(template.metadata.unwrap_or_default()),
            spec,
        }
    }
}

/// Applies the verdict-relevant API server defaults to an object of a kind podsec
/// evaluates (read from its `apiVersion` and `kind`); other objects are left alone.
pub fn apply_api_server_defaults(object: &mut Value) {
    let Some(kind) = object_kind(object) else {
        return;
    };
    let (spec_path, _) = kind.pod_paths();
    let mut target = Some(object);
    for segment in spec_path.split('.') {
        target = target.and_then(|v| v.get_mut(segment));
    }
    let volumes = target
        .and_then(|spec| spec.get_mut("volumes"))
        .and_then(Value::as_array_mut);
    for volume in volumes.into_iter().flatten() {
        if let Value::Object(fields) = volume {
            let has_source = fields.iter().any(|(k, v)| k != "name" && !v.is_null());
            if !has_source {
                fields.insert("emptyDir".to_owned(), Value::Object(Map::new()));
            }
        }
    }
}

/// The kind of a manifest, from its `apiVersion` (group) and `kind`.
pub fn object_kind(object: &Value) -> Option<ResourceKind> {
    let kind = object.get("kind")?.as_str()?;
    let api_version = object.get("apiVersion")?.as_str()?;
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    ResourceKind::from_group_kind(group, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sourceless_volumes_become_empty_dirs() {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"volumes": [
            {"name": "a"}, {"name": "b", "secret": {"secretName": "s"}}, {"name": "c", "hostPath": null}
        ]}});
        apply_api_server_defaults(&mut pod);
        assert_eq!(pod["spec"]["volumes"][0]["emptyDir"], json!({}));
        assert!(pod["spec"]["volumes"][1].get("emptyDir").is_none());
        assert_eq!(pod["spec"]["volumes"][2]["emptyDir"], json!({}));

        let mut cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate":
            {"spec": {"template": {"spec": {"volumes": [{"name": "a"}]}}}}}});
        apply_api_server_defaults(&mut cron);
        assert_eq!(
            cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"][0]["emptyDir"],
            json!({})
        );

        let mut other =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "spec": {"volumes": [{"name": "a"}]}});
        apply_api_server_defaults(&mut other);
        assert!(other["spec"]["volumes"][0].get("emptyDir").is_none());
    }
}
