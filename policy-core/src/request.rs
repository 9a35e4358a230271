//! The Kubewarden `ValidationRequest` and the Kubernetes `AdmissionRequest` inside it,
//! reduced to what podsec reads. The object stays raw until podsec knows it must read it.
//!
//! Shapes: <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request>.

use crate::deser::optional_str;
use crate::pod::{ObjectMeta, PodSpec, PodTemplateSpec};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// What a Kubewarden host sends to `validate`: the admission request and the settings.
#[derive(Debug, Deserialize)]
pub struct ValidationRequest<'a> {
    /// The admission request.
    #[serde(borrow)]
    pub request: AdmissionRequest<'a>,
    /// The policy settings, validated separately.
    #[serde(borrow, default)]
    pub settings: Option<&'a RawValue>,
}

/// A Kubernetes `AdmissionRequest` (admission.k8s.io/v1), read in one pass: the objects
/// are read as the union of the shapes podsec evaluates, everything else is skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest<'a> {
    /// `uid`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub uid: Option<Cow<'a, str>>,
    /// `kind`: the kind of the object.
    #[serde(borrow, default)]
    pub kind: Option<GroupVersionKind<'a>>,
    /// `subResource`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub sub_resource: Option<Cow<'a, str>>,
    /// `name`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub name: Option<Cow<'a, str>>,
    /// `namespace`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub namespace: Option<Cow<'a, str>>,
    /// `operation`: CREATE, UPDATE, DELETE or CONNECT.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub operation: Option<Cow<'a, str>>,
    /// `userInfo`.
    #[serde(borrow, default)]
    pub user_info: Option<UserInfo<'a>>,
    /// `object`.
    #[serde(borrow, default)]
    pub object: Option<KubeObject<'a>>,
    /// `oldObject`.
    #[serde(borrow, default)]
    pub old_object: Option<KubeObject<'a>>,
}

/// The same request with the objects left unread: used to say what is wrong when the
/// one-pass read fails, and to let objects of kinds podsec does not evaluate through.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LooseAdmissionRequest<'a> {
    /// `kind`.
    #[serde(borrow, default)]
    pub kind: Option<GroupVersionKind<'a>>,
    /// `subResource`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub sub_resource: Option<Cow<'a, str>>,
    /// `namespace`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub namespace: Option<Cow<'a, str>>,
    /// `operation`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub operation: Option<Cow<'a, str>>,
    /// `userInfo`.
    #[serde(borrow, default)]
    pub user_info: Option<UserInfo<'a>>,
    /// `object`, unread.
    #[serde(borrow, default)]
    pub object: Option<&'a RawValue>,
    /// `oldObject`, unread.
    #[serde(borrow, default)]
    pub old_object: Option<&'a RawValue>,
}

/// [`ValidationRequest`] with the objects unread.
#[derive(Debug, Deserialize)]
pub struct LooseValidationRequest<'a> {
    /// The admission request.
    #[serde(borrow)]
    pub request: LooseAdmissionRequest<'a>,
    /// The settings.
    #[serde(borrow, default)]
    pub settings: Option<&'a RawValue>,
}

/// Any object, read as the union of the shapes podsec evaluates: a pod's `spec`, a
/// workload's `spec.template`, a CronJob's `spec.jobTemplate`, a PodTemplate's `template`.
#[derive(Debug, Default, Deserialize)]
pub struct KubeObject<'a> {
    /// `metadata`.
    #[serde(borrow, default)]
    pub metadata: Option<ObjectMeta<'a>>,
    /// `spec`.
    #[serde(borrow, default)]
    pub spec: Option<PodSpec<'a>>,
    /// `template` (PodTemplate).
    #[serde(borrow, default)]
    pub template: Option<PodTemplateSpec<'a>>,
}

impl<'a> KubeObject<'a> {
    /// The pod (or pod template) of an object of `kind`.
    pub fn into_pod(self, kind: ResourceKind) -> PodUnderReview<'a> {
        let object_meta = self.metadata.unwrap_or_default();
        let template = match kind {
            ResourceKind::Pod => {
                let mut spec = self.spec;
                if let Some(spec) = spec.as_mut() {
                    spec.number_containers();
                }
                return PodUnderReview {
                    object_meta,
                    template_meta: None,
                    spec,
                };
            }
            ResourceKind::PodTemplate => self.template,
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

/// `kind` of an admission request.
#[derive(Debug, Default, Deserialize)]
pub struct GroupVersionKind<'a> {
    /// The API group (`""` for core).
    #[serde(borrow, default)]
    pub group: Cow<'a, str>,
    /// The version.
    #[serde(borrow, default)]
    pub version: Cow<'a, str>,
    /// The kind.
    #[serde(borrow, default)]
    pub kind: Cow<'a, str>,
}

/// `userInfo` of an admission request.
#[derive(Debug, Default, Deserialize)]
pub struct UserInfo<'a> {
    /// `username`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub username: Option<Cow<'a, str>>,
}

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

/// Says which field of an unreadable object is at fault, e.g.
/// `spec.containers[0].securityContext.privileged: invalid type: string "yes", expected a
/// boolean`. Used only after the fast read failed, so only errors pay for finding the path.
pub fn describe_object_error(json: &str) -> String {
    match serde_json::from_str::<KubeObject<'_>>(json) {
        Ok(_) => "the object could not be read".to_owned(),
        Err(error) => {
            let inner = error.to_string();
            let message = inner.split(" at line ").next().unwrap_or(&inner).to_owned();
            let path = crate::json_path::path_at(json, error.line(), error.column());
            if path.is_empty() {
                message
            } else {
                format!("{path}: {message}")
            }
        }
    }
}
