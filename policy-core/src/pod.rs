//! The parts of a pod that the Pod Security Standards read, deserialized straight from the
//! request bytes. Strings borrow from the input where they can; everything else in the object
//! is skipped without being built.
//!
//! Field names follow the Kubernetes `core/v1` API
//! (<https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/>).

use crate::deser::{
    object_deserializer, BorrowedStr, NullableVec, OptionalStr, Pairs, StringList, StringPairs,
};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// `metadata`: the name, namespace, labels and annotations of an object or a pod template.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ObjectMeta<'a> {
    /// `metadata.name`.
    pub name: Option<Cow<'a, str>>,
    /// `metadata.namespace`.
    pub namespace: Option<Cow<'a, str>>,
    /// `metadata.labels`, in document order.
    pub labels: StringPairs<'a>,
    /// `metadata.annotations`, in document order.
    pub annotations: StringPairs<'a>,
    /// `metadata.ownerReferences` (read when a namespace's pods are dry-run: PSA checks
    /// one pod per controller first).
    pub owner_references: Option<Vec<OwnerReference<'a>>>,
}

object_deserializer!(ObjectMeta<'a>, {
    "name" => name as OptionalStr,
    "namespace" => namespace as OptionalStr,
    "labels" => labels as Pairs,
    "annotations" => annotations as Pairs,
    "ownerReferences" => owner_references,
});

/// One entry of `metadata.ownerReferences`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OwnerReference<'a> {
    /// `uid`.
    pub uid: Option<Cow<'a, str>>,
    /// `controller`.
    pub controller: Option<bool>,
}

object_deserializer!(OwnerReference<'a>, {
    "uid" => uid as OptionalStr,
    "controller" => controller,
});

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
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PodSpec<'a> {
    /// `spec.containers`.
    pub containers: Vec<Container<'a>>,
    /// `spec.initContainers`.
    pub init_containers: Vec<Container<'a>>,
    /// `spec.ephemeralContainers`.
    pub ephemeral_containers: Vec<Container<'a>>,
    /// `spec.volumes`.
    pub volumes: Vec<Volume<'a>>,
    /// `spec.securityContext` (boxed, as in [`Container`]).
    pub security_context: Option<Box<PodSecurityContext<'a>>>,
    /// `spec.hostNetwork`.
    pub host_network: Option<bool>,
    /// `spec.hostPID`.
    pub host_pid: Option<bool>,
    /// `spec.hostIPC`.
    pub host_ipc: Option<bool>,
    /// `spec.hostUsers`: `false` runs the pod in a user namespace.
    pub host_users: Option<bool>,
    /// `spec.os`.
    pub os: Option<PodOs<'a>>,
    /// `spec.runtimeClassName`.
    pub runtime_class_name: Option<Cow<'a, str>>,
    /// `spec.template` of a workload (Deployment, Job, …). A pod's own spec has none; it
    /// lives here so one pass over the request reads every kind's pod.
    pub template: Option<Box<PodTemplateSpec<'a>>>,
    /// `spec.jobTemplate` of a CronJob.
    pub job_template: Option<Box<JobTemplate<'a>>>,
}

object_deserializer!(PodSpec<'a>, {
    "containers" => containers as NullableVec<_>,
    "initContainers" => init_containers as NullableVec<_>,
    "ephemeralContainers" => ephemeral_containers as NullableVec<_>,
    "volumes" => volumes as NullableVec<_>,
    "securityContext" => security_context,
    "hostNetwork" => host_network,
    "hostPID" => host_pid,
    "hostIPC" => host_ipc,
    "hostUsers" => host_users,
    "os" => os,
    "runtimeClassName" => runtime_class_name as OptionalStr,
    "template" => template,
    "jobTemplate" => job_template,
});

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
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PodOs<'a> {
    /// `spec.os.name`: `linux` or `windows`.
    pub name: Option<Cow<'a, str>>,
}

object_deserializer!(PodOs<'a>, {
    "name" => name as OptionalStr,
});

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
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Container<'a> {
    /// `name`.
    pub name: Cow<'a, str>,
    /// `image`.
    pub image: Option<Cow<'a, str>>,
    /// `securityContext`.
    pub security_context: Option<Box<SecurityContext<'a>>>,
    /// `ports`.
    pub ports: Vec<ContainerPort>,
    /// `livenessProbe`.
    pub liveness_probe: Option<Box<Handler<'a>>>,
    /// `readinessProbe`.
    pub readiness_probe: Option<Box<Handler<'a>>>,
    /// `startupProbe`.
    pub startup_probe: Option<Box<Handler<'a>>>,
    /// `lifecycle`.
    pub lifecycle: Option<Box<Lifecycle<'a>>>,
    /// `volumeMounts`.
    pub volume_mounts: Vec<VolumeMount<'a>>,
    /// The list this container is in (set by [`PodSpec::number_containers`]).
    pub list: ContainerList,
    /// The index in that list (set by [`PodSpec::number_containers`]).
    pub index: usize,
}

object_deserializer!(Container<'a>, {
    "name" => name as BorrowedStr,
    "image" => image as OptionalStr,
    "securityContext" => security_context,
    "ports" => ports as NullableVec<_>,
    "livenessProbe" => liveness_probe,
    "readinessProbe" => readiness_probe,
    "startupProbe" => startup_probe,
    "lifecycle" => lifecycle,
    "volumeMounts" => volume_mounts as NullableVec<_>,
});

impl Container<'_> {
    /// The path of this container below the pod spec, e.g. `initContainers[0]`.
    pub fn path(&self, spec_path: &str) -> crate::field_path::FieldPath {
        crate::field_path::FieldPath::item(spec_path, self.list.field(), self.index)
    }
}

/// A container's `securityContext`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SecurityContext<'a> {
    /// `privileged`.
    pub privileged: Option<bool>,
    /// `allowPrivilegeEscalation`.
    pub allow_privilege_escalation: Option<bool>,
    /// `capabilities`.
    pub capabilities: Option<Capabilities<'a>>,
    /// `procMount`.
    pub proc_mount: Option<Cow<'a, str>>,
    /// `runAsNonRoot`.
    pub run_as_non_root: Option<bool>,
    /// `runAsUser`.
    pub run_as_user: Option<i64>,
    /// `seLinuxOptions`.
    pub se_linux_options: Option<SeLinuxOptions<'a>>,
    /// `seccompProfile`.
    pub seccomp_profile: Option<ProfileType<'a>>,
    /// `appArmorProfile`.
    pub app_armor_profile: Option<ProfileType<'a>>,
    /// `windowsOptions`.
    pub windows_options: Option<WindowsOptions>,
}

object_deserializer!(SecurityContext<'a>, {
    "privileged" => privileged,
    "allowPrivilegeEscalation" => allow_privilege_escalation,
    "capabilities" => capabilities,
    "procMount" => proc_mount as OptionalStr,
    "runAsNonRoot" => run_as_non_root,
    "runAsUser" => run_as_user,
    "seLinuxOptions" => se_linux_options,
    "seccompProfile" => seccomp_profile,
    "appArmorProfile" => app_armor_profile,
    "windowsOptions" => windows_options,
});

/// The pod's `spec.securityContext`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PodSecurityContext<'a> {
    /// `runAsNonRoot`.
    pub run_as_non_root: Option<bool>,
    /// `runAsUser`.
    pub run_as_user: Option<i64>,
    /// `seLinuxOptions`.
    pub se_linux_options: Option<SeLinuxOptions<'a>>,
    /// `seccompProfile`.
    pub seccomp_profile: Option<ProfileType<'a>>,
    /// `appArmorProfile`.
    pub app_armor_profile: Option<ProfileType<'a>>,
    /// `windowsOptions`.
    pub windows_options: Option<WindowsOptions>,
    /// `sysctls`.
    pub sysctls: Vec<Sysctl<'a>>,
}

object_deserializer!(PodSecurityContext<'a>, {
    "runAsNonRoot" => run_as_non_root,
    "runAsUser" => run_as_user,
    "seLinuxOptions" => se_linux_options,
    "seccompProfile" => seccomp_profile,
    "appArmorProfile" => app_armor_profile,
    "windowsOptions" => windows_options,
    "sysctls" => sysctls as NullableVec<_>,
});

/// `capabilities`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Capabilities<'a> {
    /// `add`.
    pub add: Vec<Cow<'a, str>>,
    /// `drop`.
    pub drop: Vec<Cow<'a, str>>,
}

object_deserializer!(Capabilities<'a>, {
    "add" => add as StringList,
    "drop" => drop as StringList,
});

/// `seLinuxOptions`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SeLinuxOptions<'a> {
    /// `type`.
    pub type_: Option<Cow<'a, str>>,
    /// `user`.
    pub user: Option<Cow<'a, str>>,
    /// `role`.
    pub role: Option<Cow<'a, str>>,
}

object_deserializer!(SeLinuxOptions<'a>, {
    "type" => type_ as OptionalStr,
    "user" => user as OptionalStr,
    "role" => role as OptionalStr,
});

/// A profile with a `type` (`seccompProfile`, `appArmorProfile`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProfileType<'a> {
    /// `type`.
    pub type_: Option<Cow<'a, str>>,
}

object_deserializer!(ProfileType<'a>, {
    "type" => type_ as OptionalStr,
});

impl ProfileType<'_> {
    /// The type, `""` when unset (as Go reads a missing string).
    pub fn type_str(&self) -> &str {
        self.type_.as_deref().unwrap_or("")
    }
}

/// `windowsOptions`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WindowsOptions {
    /// `hostProcess`.
    pub host_process: Option<bool>,
}

object_deserializer!(WindowsOptions, {
    "hostProcess" => host_process,
});

/// One entry of `spec.securityContext.sysctls`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sysctl<'a> {
    /// `name`.
    pub name: Cow<'a, str>,
}

object_deserializer!(Sysctl<'a>, {
    "name" => name as BorrowedStr,
});

/// One entry of a container's `ports`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ContainerPort {
    /// `hostPort`.
    pub host_port: Option<i64>,
}

object_deserializer!(ContainerPort, {
    "hostPort" => host_port,
});

/// A probe or lifecycle handler; only the hosts matter here.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Handler<'a> {
    /// `httpGet`.
    pub http_get: Option<HostField<'a>>,
    /// `tcpSocket`.
    pub tcp_socket: Option<HostField<'a>>,
}

object_deserializer!(Handler<'a>, {
    "httpGet" => http_get,
    "tcpSocket" => tcp_socket,
});

/// `httpGet` or `tcpSocket`: the `host` field.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HostField<'a> {
    /// `host`.
    pub host: Option<Cow<'a, str>>,
}

object_deserializer!(HostField<'a>, {
    "host" => host as OptionalStr,
});

/// `lifecycle`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Lifecycle<'a> {
    /// `postStart`.
    pub post_start: Option<Handler<'a>>,
    /// `preStop`.
    pub pre_stop: Option<Handler<'a>>,
}

object_deserializer!(Lifecycle<'a>, {
    "postStart" => post_start,
    "preStop" => pre_stop,
});

/// One entry of a container's `volumeMounts`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct VolumeMount<'a> {
    /// `name`: the volume mounted.
    pub name: Cow<'a, str>,
    /// `readOnly`.
    pub read_only: Option<bool>,
}

object_deserializer!(VolumeMount<'a>, {
    "name" => name as BorrowedStr,
    "readOnly" => read_only,
});

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

#[derive(Default)]
struct HostPathSource<'a> {
    path: Option<Cow<'a, str>>,
}

object_deserializer!(HostPathSource<'a>, {
    "path" => path as OptionalStr,
});

impl<'de: 'a, 'a> Deserialize<'de> for Volume<'a> {
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

        let volume: Volume<'de> = deserializer.deserialize_map(VolumeVisitor)?;
        Ok(volume)
    }
}

/// A pod template: `metadata` and `spec`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PodTemplateSpec<'a> {
    /// `metadata`.
    pub metadata: Option<ObjectMeta<'a>>,
    /// `spec`.
    pub spec: Option<PodSpec<'a>>,
}

object_deserializer!(PodTemplateSpec<'a>, {
    "metadata" => metadata,
    "spec" => spec,
});

/// A CronJob's `spec.jobTemplate`: its `spec` is a Job spec, whose `template` is the pod.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct JobTemplate<'a> {
    /// `spec`.
    pub spec: Option<PodSpec<'a>>,
}

object_deserializer!(JobTemplate<'a>, {
    "spec" => spec,
});
