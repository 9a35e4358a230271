//! The parts of a pod that the Pod Security Standards read, deserialized straight from the
//! request bytes. Strings borrow from the input where they can; everything else in the object
//! is skipped without being built.
//!
//! Field names follow the Kubernetes `core/v1` API
//! (<https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/>).

use crate::deser::{
    nullable_vec, optional_str, string_list, string_pairs, BorrowedStr, StringPairs,
};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// `metadata`: the name, namespace, labels and annotations of an object or a pod template.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta<'a> {
    /// `metadata.name`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub name: Option<Cow<'a, str>>,
    /// `metadata.namespace`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub namespace: Option<Cow<'a, str>>,
    /// `metadata.labels`, in document order.
    #[serde(borrow, default, deserialize_with = "string_pairs")]
    pub labels: StringPairs<'a>,
    /// `metadata.annotations`, in document order.
    #[serde(borrow, default, deserialize_with = "string_pairs")]
    pub annotations: StringPairs<'a>,
    /// `metadata.ownerReferences` (read when a namespace's pods are dry-run: PSA checks
    /// one pod per controller first).
    #[serde(borrow, default)]
    pub owner_references: Option<Vec<OwnerReference<'a>>>,
}

/// One entry of `metadata.ownerReferences`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct OwnerReference<'a> {
    /// `uid`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub uid: Option<Cow<'a, str>>,
    /// `controller`.
    #[serde(default)]
    pub controller: Option<bool>,
}

impl ObjectMeta<'_> {
    /// The value of annotation `key`, if set.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }
}

/// `spec` of a pod, or of a workload's pod template.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec<'a> {
    /// `spec.containers`.
    #[serde(borrow, default, deserialize_with = "nullable_vec")]
    pub containers: Vec<Container<'a>>,
    /// `spec.initContainers`.
    #[serde(borrow, default, deserialize_with = "nullable_vec")]
    pub init_containers: Vec<Container<'a>>,
    /// `spec.ephemeralContainers`.
    #[serde(borrow, default, deserialize_with = "nullable_vec")]
    pub ephemeral_containers: Vec<Container<'a>>,
    /// `spec.volumes`.
    #[serde(borrow, default, deserialize_with = "nullable_vec")]
    pub volumes: Vec<Volume<'a>>,
    /// `spec.securityContext` (boxed, as in [`Container`]).
    #[serde(borrow, default)]
    pub security_context: Option<Box<PodSecurityContext<'a>>>,
    /// `spec.hostNetwork`.
    #[serde(default)]
    pub host_network: Option<bool>,
    /// `spec.hostPID`.
    #[serde(default, rename = "hostPID")]
    pub host_pid: Option<bool>,
    /// `spec.hostIPC`.
    #[serde(default, rename = "hostIPC")]
    pub host_ipc: Option<bool>,
    /// `spec.hostUsers`: `false` runs the pod in a user namespace.
    #[serde(default)]
    pub host_users: Option<bool>,
    /// `spec.os`.
    #[serde(borrow, default)]
    pub os: Option<PodOs<'a>>,
    /// `spec.runtimeClassName`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub runtime_class_name: Option<Cow<'a, str>>,
    /// `spec.template` of a workload (Deployment, Job, …). A pod's own spec has none; it
    /// lives here so one pass over the request reads every kind's pod.
    #[serde(borrow, default)]
    pub template: Option<Box<PodTemplateSpec<'a>>>,
    /// `spec.jobTemplate` of a CronJob.
    #[serde(borrow, default)]
    pub job_template: Option<Box<JobTemplate<'a>>>,
}

impl<'a> PodSpec<'a> {
    /// Records each container's list and index, which deserialization cannot know. Call once
    /// after deserializing, before any check runs.
    pub fn number_containers(&mut self) {
        for (list, containers) in [
            (ContainerList::Init, &mut self.init_containers),
            (ContainerList::Regular, &mut self.containers),
            (ContainerList::Ephemeral, &mut self.ephemeral_containers),
        ] {
            for (index, container) in containers.iter_mut().enumerate() {
                container.list = list;
                container.index = index;
            }
        }
        for (index, volume) in self.volumes.iter_mut().enumerate() {
            volume.index = index;
        }
    }

    /// Every container in PSA's order: init containers, containers, ephemeral containers.
    pub fn all_containers(&self) -> impl Iterator<Item = &Container<'a>> {
        self.init_containers
            .iter()
            .chain(self.containers.iter())
            .chain(self.ephemeral_containers.iter())
    }

    /// How many containers the spec has in all three lists.
    pub fn container_count(&self) -> usize {
        self.init_containers
            .len()
            .saturating_add(self.containers.len())
            .saturating_add(self.ephemeral_containers.len())
    }

    /// `spec.os.name == "windows"`.
    pub fn is_windows(&self) -> bool {
        self.os.as_ref().and_then(|os| os.name.as_deref()) == Some("windows")
    }

    /// `spec.hostUsers == false`: the pod runs in a user namespace.
    pub fn in_user_namespace(&self) -> bool {
        self.host_users == Some(false)
    }
}

/// `spec.os`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct PodOs<'a> {
    /// `spec.os.name`: `linux` or `windows`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub name: Option<Cow<'a, str>>,
}

/// Which list of the pod spec a container is in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum ContainerList {
    /// `spec.initContainers`.
    Init,
    /// `spec.containers`.
    #[default]
    Regular,
    /// `spec.ephemeralContainers`.
    Ephemeral,
}

impl ContainerList {
    /// The field name of the list.
    pub fn field(self) -> &'static str {
        match self {
            ContainerList::Init => "initContainers",
            ContainerList::Regular => "containers",
            ContainerList::Ephemeral => "ephemeralContainers",
        }
    }
}

/// One container (init, regular or ephemeral). The security context, probes and lifecycle
/// are boxed: each list element is then small, and so are the parser's stack frames, which
/// hold several copies of one while it is read (a pod's `validate` stays within the stack's
/// top page, one page fault in a fresh instance).
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container<'a> {
    /// `name`.
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    /// `image`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub image: Option<Cow<'a, str>>,
    /// `securityContext`.
    #[serde(borrow, default)]
    pub security_context: Option<Box<SecurityContext<'a>>>,
    /// `ports`.
    #[serde(default, deserialize_with = "nullable_vec")]
    pub ports: Vec<ContainerPort>,
    /// `livenessProbe`.
    #[serde(borrow, default)]
    pub liveness_probe: Option<Box<Handler<'a>>>,
    /// `readinessProbe`.
    #[serde(borrow, default)]
    pub readiness_probe: Option<Box<Handler<'a>>>,
    /// `startupProbe`.
    #[serde(borrow, default)]
    pub startup_probe: Option<Box<Handler<'a>>>,
    /// `lifecycle`.
    #[serde(borrow, default)]
    pub lifecycle: Option<Box<Lifecycle<'a>>>,
    /// `volumeMounts`.
    #[serde(borrow, default, deserialize_with = "nullable_vec")]
    pub volume_mounts: Vec<VolumeMount<'a>>,
    /// The list this container is in (set by [`PodSpec::number_containers`]).
    #[serde(skip)]
    pub list: ContainerList,
    /// The index in that list (set by [`PodSpec::number_containers`]).
    #[serde(skip)]
    pub index: usize,
}

impl Container<'_> {
    /// The path of this container below the pod spec, e.g. `initContainers[0]`.
    pub fn path(&self, spec_path: &str) -> crate::field_path::FieldPath {
        crate::field_path::FieldPath::item(spec_path, self.list.field(), self.index)
    }
}

/// A container's `securityContext`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext<'a> {
    /// `privileged`.
    #[serde(default)]
    pub privileged: Option<bool>,
    /// `allowPrivilegeEscalation`.
    #[serde(default)]
    pub allow_privilege_escalation: Option<bool>,
    /// `capabilities`.
    #[serde(borrow, default)]
    pub capabilities: Option<Capabilities<'a>>,
    /// `procMount`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub proc_mount: Option<Cow<'a, str>>,
    /// `runAsNonRoot`.
    #[serde(default)]
    pub run_as_non_root: Option<bool>,
    /// `runAsUser`.
    #[serde(default)]
    pub run_as_user: Option<i64>,
    /// `seLinuxOptions`.
    #[serde(borrow, default)]
    pub se_linux_options: Option<SeLinuxOptions<'a>>,
    /// `seccompProfile`.
    #[serde(borrow, default)]
    pub seccomp_profile: Option<ProfileType<'a>>,
    /// `appArmorProfile`.
    #[serde(borrow, default)]
    pub app_armor_profile: Option<ProfileType<'a>>,
    /// `windowsOptions`.
    #[serde(default)]
    pub windows_options: Option<WindowsOptions>,
}

/// The pod's `spec.securityContext`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext<'a> {
    /// `runAsNonRoot`.
    #[serde(default)]
    pub run_as_non_root: Option<bool>,
    /// `runAsUser`.
    #[serde(default)]
    pub run_as_user: Option<i64>,
    /// `seLinuxOptions`.
    #[serde(borrow, default)]
    pub se_linux_options: Option<SeLinuxOptions<'a>>,
    /// `seccompProfile`.
    #[serde(borrow, default)]
    pub seccomp_profile: Option<ProfileType<'a>>,
    /// `appArmorProfile`.
    #[serde(borrow, default)]
    pub app_armor_profile: Option<ProfileType<'a>>,
    /// `windowsOptions`.
    #[serde(default)]
    pub windows_options: Option<WindowsOptions>,
    /// `sysctls`.
    #[serde(borrow, default, deserialize_with = "nullable_vec")]
    pub sysctls: Vec<Sysctl<'a>>,
}

/// `capabilities`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct Capabilities<'a> {
    /// `add`.
    #[serde(borrow, default, deserialize_with = "string_list")]
    pub add: Vec<Cow<'a, str>>,
    /// `drop`.
    #[serde(borrow, default, deserialize_with = "string_list")]
    pub drop: Vec<Cow<'a, str>>,
}

/// `seLinuxOptions`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct SeLinuxOptions<'a> {
    /// `type`.
    #[serde(borrow, default, rename = "type", deserialize_with = "optional_str")]
    pub type_: Option<Cow<'a, str>>,
    /// `user`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub user: Option<Cow<'a, str>>,
    /// `role`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub role: Option<Cow<'a, str>>,
}

/// A profile with a `type` (`seccompProfile`, `appArmorProfile`).
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct ProfileType<'a> {
    /// `type`.
    #[serde(borrow, default, rename = "type", deserialize_with = "optional_str")]
    pub type_: Option<Cow<'a, str>>,
}

impl ProfileType<'_> {
    /// The type, `""` when unset (as Go reads a missing string).
    pub fn type_str(&self) -> &str {
        self.type_.as_deref().unwrap_or("")
    }
}

/// `windowsOptions`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowsOptions {
    /// `hostProcess`.
    #[serde(default)]
    pub host_process: Option<bool>,
}

/// One entry of `spec.securityContext.sysctls`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct Sysctl<'a> {
    /// `name`.
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
}

/// One entry of a container's `ports`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    /// `hostPort`.
    #[serde(default)]
    pub host_port: Option<i64>,
}

/// A probe or lifecycle handler; only the hosts matter here.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handler<'a> {
    /// `httpGet`.
    #[serde(borrow, default)]
    pub http_get: Option<HostField<'a>>,
    /// `tcpSocket`.
    #[serde(borrow, default)]
    pub tcp_socket: Option<HostField<'a>>,
}

/// `httpGet` or `tcpSocket`: the `host` field.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct HostField<'a> {
    /// `host`.
    #[serde(borrow, default, deserialize_with = "optional_str")]
    pub host: Option<Cow<'a, str>>,
}

/// `lifecycle`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle<'a> {
    /// `postStart`.
    #[serde(borrow, default)]
    pub post_start: Option<Handler<'a>>,
    /// `preStop`.
    #[serde(borrow, default)]
    pub pre_stop: Option<Handler<'a>>,
}

/// One entry of a container's `volumeMounts`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount<'a> {
    /// `name`: the volume mounted.
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    /// `readOnly`.
    #[serde(default)]
    pub read_only: Option<bool>,
}

/// Volume sources the restricted level allows, in the order PSA tests them.
pub const ALLOWED_VOLUME_SOURCES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Volume sources the restricted level forbids, in the order PSA names the first one found.
pub const RESTRICTED_VOLUME_SOURCES: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

/// What kind of source a volume has, as the restricted level classifies it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum VolumeKind {
    /// One of [`ALLOWED_VOLUME_SOURCES`].
    Allowed,
    /// One of [`RESTRICTED_VOLUME_SOURCES`].
    Restricted(&'static str),
    /// No source podsec knows (PSA reports it as type `"unknown"`).
    #[default]
    Unknown,
}

/// One entry of `spec.volumes`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Volume<'a> {
    /// `name`.
    pub name: Cow<'a, str>,
    /// The source kind.
    pub kind: VolumeKind,
    /// `hostPath`, when set: its `path`.
    pub host_path: Option<Cow<'a, str>>,
    /// The index in `spec.volumes` (set by [`PodSpec::number_containers`]).
    pub index: usize,
}

#[derive(Deserialize)]
struct HostPathSource<'a> {
    #[serde(borrow, default, deserialize_with = "optional_str")]
    path: Option<Cow<'a, str>>,
}

impl<'de> Deserialize<'de> for Volume<'de> {
    fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
    where
        D: Deserializer<'de>,
    {
        struct VolumeVisitor;

        impl<'de> Visitor<'de> for VolumeVisitor {
            type Value = Volume<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a volume object")
            }

            fn visit_map<A>(self, mut map: A) -> Result<Self::Value, A::Error>
            where
                A: MapAccess<'de>,
            {
                let mut volume = Volume::default();
                let mut allowed = false;
                let mut restricted: Option<usize> = None;
                while let Some(key) = map.next_key::<BorrowedStr<'de>>()? {
                    let key = key.0;
                    if key == "name" {
                        volume.name = map
                            .next_value::<Option<BorrowedStr<'de>>>()?
                            .map(|s| s.0)
                            .unwrap_or_default();
                        continue;
                    }
                    if key == "hostPath" {
                        if let Some(source) = map.next_value::<Option<HostPathSource<'de>>>()? {
                            volume.host_path = Some(source.path.unwrap_or_default());
                            restricted = Some(0);
                        }
                        continue;
                    }
                    // A null source is an unset source, as in Go.
                    if map.next_value::<Option<IgnoredAny>>()?.is_none() {
                        continue;
                    }
                    if ALLOWED_VOLUME_SOURCES.contains(&key.as_ref()) {
                        allowed = true;
                    } else if let Some(position) =
                        RESTRICTED_VOLUME_SOURCES.iter().position(|s| *s == key)
                    {
                        restricted = Some(restricted.map_or(position, |p| p.min(position)));
                    }
                }
                volume.kind = if allowed {
                    VolumeKind::Allowed
                } else {
                    restricted
                        .and_then(|p| RESTRICTED_VOLUME_SOURCES.get(p).copied())
                        .map_or(VolumeKind::Unknown, VolumeKind::Restricted)
                };
                Ok(volume)
            }
        }

        deserializer.deserialize_map(VolumeVisitor)
    }
}

/// A pod template: `metadata` and `spec`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct PodTemplateSpec<'a> {
    /// `metadata`.
    #[serde(borrow, default)]
    pub metadata: Option<ObjectMeta<'a>>,
    /// `spec`.
    #[serde(borrow, default)]
    pub spec: Option<PodSpec<'a>>,
}

/// A CronJob's `spec.jobTemplate`: its `spec` is a Job spec, whose `template` is the pod.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct JobTemplate<'a> {
    /// `spec`.
    #[serde(borrow, default)]
    pub spec: Option<PodSpec<'a>>,
}
