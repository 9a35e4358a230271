//! Turning documents a person has on disk (plain manifests, `List`s, AdmissionReviews) into
//! the `ValidationRequest` the policy evaluates. Shared by the `podsec` CLI, the playground
//! and the tests, so all of them judge a manifest the same way.
//!
//! A plain manifest is judged as a CREATE by an unnamed user in its `metadata.namespace`
//! (or `default`), after the API server defaulting that changes verdicts
//! ([`crate::defaults`]).

use crate::field_path::FieldPath;
use crate::workload::{apply_api_server_defaults, object_kind, ResourceKind};
use serde_json::{json, Map, Value};

/// What one document of a manifest file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// An object (any kind); podsec builds a CREATE request for it.
    Object(Value),
    /// An `AdmissionReview`'s or a bare `AdmissionRequest`'s `request`, used as is.
    Request(Value),
}

/// Splits a parsed document into the objects and requests it holds: a `List` (or any
/// `*List` kind with `items`) gives its items, an `AdmissionReview` its request, anything
/// else itself.
pub fn documents(value: Value) -> Vec<Document> {
    located_documents(value)
        .into_iter()
        .map(|(_, document)| document)
        .collect()
}

/// [`documents`], each with the field path of its object in the parsed document (empty
/// for the document itself, `items[2]` for a `List` item, `request.object` for an
/// AdmissionReview), so a violation's path can be found in the text.
pub fn located_documents(value: Value) -> Vec<(FieldPath, Document)> {
    let mut out = Vec::new();
    unfold(FieldPath::root(), value, &mut out);
    out
}

fn unfold(at: FieldPath, mut value: Value, out: &mut Vec<(FieldPath, Document)>) {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind == "AdmissionReview" {
        let request = value.get_mut("request").map_or(Value::Null, Value::take);
        out.push((at.child("request.object"), Document::Request(request)));
        return;
    }
    if kind.ends_with("List") && matches!(value.get("items"), Some(Value::Array(_))) {
        if let Some(Value::Array(items)) = value.get_mut("items").map(Value::take) {
            for (index, item) in items.into_iter().enumerate() {
                unfold(at.child("items").index(index), item, out);
            }
        }
        return;
    }
    if kind.is_empty() && value.get("uid").is_some() && value.get("operation").is_some() {
        out.push((at.child("object"), Document::Request(value)));
        return;
    }
    out.push((at, Document::Object(value)));
}

/// The built-in kinds that live in no namespace.
const CLUSTER_SCOPED_KINDS: [&str; 24] = [
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "VolumeAttachment",
    "CSIDriver",
    "CSINode",
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "CertificateSigningRequest",
    "ComponentStatus",
];

/// Whether objects of `kind` (a built-in kind) live in no namespace.
pub fn is_cluster_scoped(kind: &str) -> bool {
    CLUSTER_SCOPED_KINDS.contains(&kind)
}

/// The identity of an object, for reports: kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectIdentity {
    /// `apiVersion`.
    pub api_version: Option<String>,
    /// `kind`.
    pub kind: Option<String>,
    /// `metadata.namespace`, or `default` for a namespaced object without one.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: Option<String>,
    /// `metadata.uid`, for an object read from a cluster.
    pub uid: Option<String>,
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The AdmissionRequest podsec builds for a plain object: a CREATE in the object's
/// namespace (or `default`) by an unnamed user, after API server defaulting.
pub fn create_request(mut object: Value) -> Value {
    apply_api_server_defaults(&mut object);
    let kind = text(&object, "/kind").unwrap_or_default();
    let api_version = text(&object, "/apiVersion").unwrap_or_default();
    let (group, version) = api_version
        .rsplit_once('/')
        .map_or((String::new(), api_version.clone()), |(g, v)| {
            (g.to_owned(), v.to_owned())
        });
    let name = text(&object, "/metadata/name").unwrap_or_default();
    // The API server names a Namespace request's namespace after the namespace itself.
    let namespace = if kind == "Namespace" && api_version == "v1" {
        name.clone()
    } else {
        text(&object, "/metadata/namespace").unwrap_or_else(|| "default".to_owned())
    };
    let resource = object_kind(&object).map_or("", ResourceKind::resource);
    // Built field by field so the object is moved in: `json!` would serialise it into a
    // new value, a deep copy.
    let mut request = Map::new();
    request.insert(
        "uid".to_owned(),
        Value::from("00000000-0000-0000-0000-000000000000"),
    );
    request.insert(
        "kind".to_owned(),
        json!({"group": group, "version": version, "kind": kind}),
    );
    request.insert(
        "resource".to_owned(),
        json!({"group": group, "version": version, "resource": resource}),
    );
    request.insert("name".to_owned(), Value::String(name));
    request.insert("namespace".to_owned(), Value::String(namespace));
    request.insert("operation".to_owned(), Value::from("CREATE"));
    request.insert("userInfo".to_owned(), json!({"username": ""}));
    request.insert("object".to_owned(), object);
    Value::Object(request)
}

/// Wraps an AdmissionRequest and settings into a Kubewarden `ValidationRequest`.
pub fn validation_request(request: Value, settings: &Value) -> Value {
    let mut wrapper = Map::new();
    wrapper.insert("request".to_owned(), request);
    wrapper.insert("settings".to_owned(), settings.clone());
    Value::Object(wrapper)
}

/// The identity of what a document holds.
pub fn identity(document: &Document) -> ObjectIdentity {
    match document {
        Document::Object(object) => ObjectIdentity {
            api_version: text(object, "/apiVersion"),
            uid: text(object, "/metadata/uid"),
            kind: text(object, "/kind"),
            // A cluster-scoped object is in no namespace.
            namespace: (!is_cluster_scoped(text(object, "/kind").as_deref().unwrap_or(""))).then(
                || text(object, "/metadata/namespace").unwrap_or_else(|| "default".to_owned()),
            ),
            name: text(object, "/metadata/name"),
        },
        Document::Request(request) => ObjectIdentity {
            api_version: text(request, "/kind/version").map(|version| {
                match text(request, "/kind/group").filter(|g| !g.is_empty()) {
                    Some(group) => format!("{group}/{version}"),
                    None => version,
                }
            }),
            uid: text(request, "/object/metadata/uid"),
            kind: text(request, "/kind/kind"),
            namespace: text(request, "/namespace"),
            name: text(request, "/name").or_else(|| text(request, "/object/metadata/name")),
        },
    }
}

/// The `ValidationRequest` for a document under `settings`.
pub fn request_for(document: Document, settings: &Value) -> Value {
    let request = match document {
        Document::Object(object) => create_request(object),
        Document::Request(request) => request,
    };
    validation_request(request, settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_reviews_unfold() {
        let list = json!({"kind": "List", "items": [{"kind": "Pod"}, {"kind": "PodList", "items": [{"kind": "Pod"}]}]});
        assert_eq!(documents(list).len(), 2);
        let review = json!({"kind": "AdmissionReview", "request": {"uid": "1"}});
        assert_eq!(
            documents(review),
            vec![Document::Request(json!({"uid": "1"}))]
        );
        let bare = json!({"uid": "1", "operation": "CREATE"});
        assert!(matches!(documents(bare).as_slice(), [Document::Request(_)]));
        let nested = json!({"kind": "List", "items": [{"kind": "Pod"}, {"kind": "AdmissionReview", "request": {}}]});
        let paths: Vec<String> = located_documents(nested)
            .into_iter()
            .map(|(p, _)| p.to_string())
            .collect();
        assert_eq!(paths, ["items[0]", "items[1].request.object"]);
    }

    #[test]
    fn create_requests_default_the_namespace() {
        let request = create_request(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
        );
        assert_eq!(request["namespace"], "default");
        assert_eq!(request["kind"]["group"], "apps");
        assert_eq!(request["resource"]["resource"], "deployments");
        assert_eq!(request["operation"], "CREATE");
    }
}
