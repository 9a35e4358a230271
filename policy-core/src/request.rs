//! The Kubewarden `ValidationRequest` and the Kubernetes `AdmissionRequest` inside it,
//! reduced to what podsec reads. The object stays raw until podsec knows it must read it.
//!
//! Shapes: <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request>.

use crate::deser::{object_deserializer, BorrowedStr, OptionalStr};
use crate::pod::{ObjectMeta, PodSpec, PodTemplateSpec};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// What a Kubewarden host sends to `validate`: the admission request and the settings.
#[derive(Debug, Deserialize)]
pub struct ValidationRequest<'a> {
    /// The admission request. Boxed: the parse result is then a few words, not a copy of
    /// the whole request in each frame it passes through.
    #[serde(borrow)]
    pub request: Box<AdmissionRequest<'a>>,
    /// The policy settings, validated separately.
    #[serde(borrow, default)]
    pub settings: Option<&'a RawValue>,
}

/// A Kubernetes `AdmissionRequest` (admission.k8s.io/v1), read in one pass: the objects
/// are read as the union of the shapes podsec evaluates, everything else is skipped.
#[derive(Debug, Default)]
pub struct AdmissionRequest<'a> {
    /// `uid`.
    pub uid: Option<Cow<'a, str>>,
    /// `kind`: the kind of the object.
    pub kind: Option<GroupVersionKind<'a>>,
    /// `subResource`.
    pub sub_resource: Option<Cow<'a, str>>,
    /// `name`.
    pub name: Option<Cow<'a, str>>,
    /// `namespace`.
    pub namespace: Option<Cow<'a, str>>,
    /// `operation`: CREATE, UPDATE, DELETE or CONNECT.
    pub operation: Option<Cow<'a, str>>,
    /// `userInfo`.
    pub user_info: Option<UserInfo<'a>>,
    /// `object`. Boxed, as `old_object`: a `KubeObject` holds two pod specs, and inline
    /// the request's deserialisers kept every copy of them in their stack frames (~24 KB
    /// of stack in the module, each page a fault in a fresh instance) and moved them up.
    pub object: Option<Box<KubeObject<'a>>>,
    /// `oldObject`.
    pub old_object: Option<Box<KubeObject<'a>>>,
}

object_deserializer!(AdmissionRequest<'a>, {
    "uid" => uid as OptionalStr,
    "kind" => kind,
    "subResource" => sub_resource as OptionalStr,
    "name" => name as OptionalStr,
    "namespace" => namespace as OptionalStr,
    "operation" => operation as OptionalStr,
    "userInfo" => user_info,
    "object" => object,
    "oldObject" => old_object,
});

/// The same request with the objects left unread: used to say what is wrong when the
/// one-pass read fails, and to let objects of kinds podsec does not evaluate through.
#[derive(Debug, Default)]
pub struct LooseAdmissionRequest<'a> {
    /// `kind`.
    pub kind: Option<GroupVersionKind<'a>>,
    /// `subResource`.
    pub sub_resource: Option<Cow<'a, str>>,
    /// `namespace`.
    pub namespace: Option<Cow<'a, str>>,
    /// `operation`.
    pub operation: Option<Cow<'a, str>>,
    /// `userInfo`.
    pub user_info: Option<UserInfo<'a>>,
    /// `object`, unread.
    pub object: Option<&'a RawValue>,
    /// `oldObject`, unread.
    pub old_object: Option<&'a RawValue>,
}

object_deserializer!(LooseAdmissionRequest<'a>, {
    "kind" => kind,
    "subResource" => sub_resource as OptionalStr,
    "namespace" => namespace as OptionalStr,
    "operation" => operation as OptionalStr,
    "userInfo" => user_info,
    "object" => object,
    "oldObject" => old_object,
});

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
#[derive(Debug, Default)]
pub struct KubeObject<'a> {
    /// `metadata`.
    pub metadata: Option<ObjectMeta<'a>>,
    /// `spec` (boxed, as `template`: see [`AdmissionRequest::object`]).
    pub spec: Option<Box<PodSpec<'a>>>,
    /// `template` (PodTemplate).
    pub template: Option<Box<PodTemplateSpec<'a>>>,
}

object_deserializer!(KubeObject<'a>, {
    "metadata" => metadata,
    "spec" => spec,
    "template" => template,
});

/// `kind` of an admission request.
#[derive(Debug, Default)]
pub struct GroupVersionKind<'a> {
    /// The API group (`""` for core).
    pub group: Cow<'a, str>,
    /// The version.
    pub version: Cow<'a, str>,
    /// The kind.
    pub kind: Cow<'a, str>,
}

object_deserializer!(GroupVersionKind<'a>, {
    "group" => group as BorrowedStr,
    "version" => version as BorrowedStr,
    "kind" => kind as BorrowedStr,
});

/// `userInfo` of an admission request.
#[derive(Debug, Default)]
pub struct UserInfo<'a> {
    /// `username`.
    pub username: Option<Cow<'a, str>>,
}

object_deserializer!(UserInfo<'a>, {
    "username" => username as OptionalStr,
});

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
