//! The Kubewarden `ValidationRequest` and the Kubernetes `AdmissionRequest` inside it,
//! reduced to what podsec reads. The object stays raw until podsec knows it must read it.
//!
//! Shapes: <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request>.

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

/// A Kubernetes `AdmissionRequest` (admission.k8s.io/v1).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest<'a> {
    /// `uid`.
    #[serde(borrow, default)]
    pub uid: Option<Cow<'a, str>>,
    /// `kind`: the kind of the object.
    #[serde(borrow, default)]
    pub kind: Option<GroupVersionKind<'a>>,
    /// `subResource`.
    #[serde(borrow, default)]
    pub sub_resource: Option<Cow<'a, str>>,
    /// `name`.
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// `namespace`.
    #[serde(borrow, default)]
    pub namespace: Option<Cow<'a, str>>,
    /// `operation`: CREATE, UPDATE, DELETE or CONNECT.
    #[serde(borrow, default)]
    pub operation: Option<Cow<'a, str>>,
    /// `userInfo`.
    #[serde(borrow, default)]
    pub user_info: Option<UserInfo<'a>>,
    /// `object`, unparsed.
    #[serde(borrow, default)]
    pub object: Option<&'a RawValue>,
    /// `oldObject`, unparsed.
    #[serde(borrow, default)]
    pub old_object: Option<&'a RawValue>,
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
    #[serde(borrow, default)]
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
    /// The object's own metadata (for a pod, the same as `pod_meta`).
    pub object_meta: ObjectMeta<'a>,
    /// The pod's metadata (a workload's template metadata).
    pub pod_meta: ObjectMeta<'a>,
    /// The pod spec, when the object has one.
    pub spec: Option<PodSpec<'a>>,
}

#[derive(Deserialize)]
struct PodObject<'a> {
    #[serde(borrow, default)]
    metadata: Option<ObjectMeta<'a>>,
    #[serde(borrow, default)]
    spec: Option<PodSpec<'a>>,
}

#[derive(Deserialize)]
struct TemplateHolder<'a> {
    #[serde(borrow, default)]
    template: Option<PodTemplateSpec<'a>>,
}

#[derive(Deserialize)]
struct ControllerObject<'a> {
    #[serde(borrow, default)]
    metadata: Option<ObjectMeta<'a>>,
    #[serde(borrow, default)]
    spec: Option<TemplateHolder<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CronJobSpec<'a> {
    #[serde(borrow, default)]
    job_template: Option<JobTemplate<'a>>,
}

#[derive(Deserialize)]
struct JobTemplate<'a> {
    #[serde(borrow, default)]
    spec: Option<TemplateHolder<'a>>,
}

#[derive(Deserialize)]
struct CronJobObject<'a> {
    #[serde(borrow, default)]
    metadata: Option<ObjectMeta<'a>>,
    #[serde(borrow, default)]
    spec: Option<CronJobSpec<'a>>,
}

#[derive(Deserialize)]
struct PodTemplateObject<'a> {
    #[serde(borrow, default)]
    metadata: Option<ObjectMeta<'a>>,
    #[serde(borrow, default)]
    template: Option<PodTemplateSpec<'a>>,
}

fn from_template<'a>(
    object_meta: Option<ObjectMeta<'a>>,
    template: Option<PodTemplateSpec<'a>>,
) -> PodUnderReview<'a> {
    let template = template.unwrap_or_default();
    PodUnderReview {
        object_meta: object_meta.unwrap_or_default(),
        pod_meta: template.metadata.unwrap_or_default(),
        spec: template.spec,
    }
}

/// Reads the pod (or pod template) out of an object of `kind`. The error names the field
/// at fault, e.g. `spec.containers[0].securityContext.privileged: invalid type: string
/// "yes", expected a boolean`.
pub fn read_pod<'a>(kind: ResourceKind, raw: &'a RawValue) -> Result<PodUnderReview<'a>, String> {
    parse_pod(kind, raw).map_err(|_| describe_error(kind, raw.get()))
}

/// Re-reads a document that failed to parse, tracking the path, to say where it failed.
/// Only the error path pays for the tracking.
fn describe_error(kind: ResourceKind, json: &str) -> String {
    fn locate<'de, T: Deserialize<'de>>(json: &'de str) -> String {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Ok(_) => "the object could not be read".to_owned(),
            Err(error) => {
                let inner = error.inner().to_string();
                let message = inner.split(" at line ").next().unwrap_or(&inner).to_owned();
                let path = error.path().to_string();
                if path == "." {
                    message
                } else {
                    format!("{path}: {message}")
                }
            }
        }
    }
    match kind {
        ResourceKind::Pod => locate::<PodObject<'_>>(json),
        ResourceKind::CronJob => locate::<CronJobObject<'_>>(json),
        ResourceKind::PodTemplate => locate::<PodTemplateObject<'_>>(json),
        _ => locate::<ControllerObject<'_>>(json),
    }
}

fn parse_pod<'a>(
    kind: ResourceKind,
    raw: &'a RawValue,
) -> Result<PodUnderReview<'a>, serde_json::Error> {
    let json = raw.get();
    let mut pod = match kind {
        ResourceKind::Pod => {
            let pod: PodObject<'a> = serde_json::from_str(json)?;
            let meta = pod.metadata.unwrap_or_default();
            PodUnderReview {
                object_meta: meta.clone(),
                pod_meta: meta,
                spec: pod.spec,
            }
        }
        ResourceKind::CronJob => {
            let cron: CronJobObject<'a> = serde_json::from_str(json)?;
            let template = cron
                .spec
                .and_then(|s| s.job_template)
                .and_then(|j| j.spec)
                .and_then(|s| s.template);
            from_template(cron.metadata, template)
        }
        ResourceKind::PodTemplate => {
            let object: PodTemplateObject<'a> = serde_json::from_str(json)?;
            from_template(object.metadata, object.template)
        }
        _ => {
            let object: ControllerObject<'a> = serde_json::from_str(json)?;
            from_template(object.metadata, object.spec.and_then(|s| s.template))
        }
    };
    if let Some(spec) = pod.spec.as_mut() {
        spec.number_containers();
    }
    Ok(pod)
}
