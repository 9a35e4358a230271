//! What the policy asks its host about the cluster, in Kubewarden's context-aware protocol:
//! a waPC host call with binding `kubewarden`, namespace `kubernetes`, operation
//! `get_resource` or `list_resources_by_namespace`, and a JSON payload shaped as
//! policy-sdk-rust's `host_capabilities::kubernetes` requests. The answer is the object (or
//! the list) as the API server returns it, or an error message.
//!
//! policy-core only builds the requests and reads the answers; each host carries them: the
//! module through `__host_call`, `podsec check` from the Namespace objects of its input,
//! `podsec run` from a kwctl session file, `podsec serve` from its watch cache.

use crate::pod::ObjectMeta;
use crate::request::KubeObject;
use serde::{Deserialize, Serialize};

/// The waPC binding of Kubewarden's host capabilities.
pub const BINDING: &str = "kubewarden";
/// The waPC namespace of the Kubernetes capabilities.
pub const NAMESPACE: &str = "kubernetes";
/// The operation that fetches one object.
pub const GET_RESOURCE: &str = "get_resource";
/// The operation that lists the objects of one kind in one namespace.
pub const LIST_RESOURCES_BY_NAMESPACE: &str = "list_resources_by_namespace";

/// The fields of a Namespace the policy reads (hosts that support field masks send only
/// these; older hosts ignore the field and send the whole object).
pub const NAMESPACE_FIELDS: [&str; 2] = ["metadata.name", "metadata.labels"];
/// The fields of a Pod the policy reads when it dry-runs a namespace's new level.
pub const POD_FIELDS: [&str; 5] = [
    "metadata.name",
    "metadata.labels",
    "metadata.annotations",
    "metadata.ownerReferences",
    "spec",
];

/// `get_resource`'s payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetResourceRequest {
    /// `v1` for the core group, `group/version` otherwise.
    pub api_version: String,
    /// The kind, e.g. `Namespace`.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// The namespace of a namespaced object; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// Whether the host must skip its cache.
    pub disable_cache: bool,
    /// The fields the policy reads (dot-separated paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_masks: Option<Vec<String>>,
}

/// `list_resources_by_namespace`'s payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListResourcesByNamespaceRequest {
    /// `v1` for the core group, `group/version` otherwise.
    pub api_version: String,
    /// The kind, e.g. `Pod`.
    pub kind: String,
    /// The namespace listed.
    pub namespace: String,
    /// A label selector, or `None` for every object.
    pub label_selector: Option<String>,
    /// A field selector, or `None` for every object.
    pub field_selector: Option<String>,
    /// The fields the policy reads (dot-separated paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_masks: Option<Vec<String>>,
}

impl GetResourceRequest {
    /// The request for namespace `name`, labels only.
    pub fn namespace(name: &str) -> GetResourceRequest {
        GetResourceRequest {
            api_version: "v1".to_owned(),
            kind: "Namespace".to_owned(),
            name: name.to_owned(),
            namespace: None,
            disable_cache: false,
            field_masks: Some(NAMESPACE_FIELDS.iter().map(|f| (*f).to_owned()).collect()),
        }
    }
}

/// [`GetResourceRequest::namespace`]'s JSON, the payload a waPC host call sends, written
/// without building the request: the same bytes as serialising it (and, as serialising it,
/// a `Result`).
pub fn namespace_payload(name: &str) -> Result<Vec<u8>, serde_json::Error> {
    const HEAD: &[u8] = br#"{"api_version":"v1","kind":"Namespace","name":"#;
    const TAIL: &[u8] = br#","namespace":null,"disable_cache":false,"field_masks":["metadata.name","metadata.labels"]}"#;
    // Room for a name without escapes and its quotes (a longer one grows the buffer).
    let room = [HEAD.len(), name.len(), 2, TAIL.len()]
        .iter()
        .fold(0usize, |sum, n| sum.saturating_add(*n));
    let mut payload = Vec::with_capacity(room);
    payload.extend_from_slice(HEAD);
    serde_json::to_writer(&mut payload, name)?;
    payload.extend_from_slice(TAIL);
    Ok(payload)
}

impl ListResourcesByNamespaceRequest {
    /// The request for the pods of `namespace`.
    pub fn pods(namespace: &str) -> ListResourcesByNamespaceRequest {
        ListResourcesByNamespaceRequest {
            api_version: "v1".to_owned(),
            kind: "Pod".to_owned(),
            namespace: namespace.to_owned(),
            label_selector: None,
            field_selector: None,
            field_masks: Some(POD_FIELDS.iter().map(|f| (*f).to_owned()).collect()),
        }
    }
}

/// A host that answers the policy's questions about the cluster. Each answer is the JSON
/// the API server would return (the object; for a list, `{"items": [...]}`), or the host's
/// error message.
pub trait Cluster {
    /// `get_resource`.
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String>;
    /// `get_resource` of Namespace `name` ([`GetResourceRequest::namespace`]): the
    /// namespace-labels mode's one question per request. A host that sends the request as
    /// JSON can send [`namespace_payload`] instead of building it.
    fn get_namespace(&self, name: &str) -> Result<Vec<u8>, String> {
        self.get_resource(&GetResourceRequest::namespace(name))
    }
    /// `list_resources_by_namespace`.
    fn list_resources_by_namespace(
        &self,
        request: &ListResourcesByNamespaceRequest,
    ) -> Result<Vec<u8>, String>;
}

/// A host without cluster access: every question is an error that says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCluster;

/// The error [`NoCluster`] answers with.
pub const NO_CLUSTER: &str =
    "this host gives the policy no access to the cluster (namespaceLabels needs Namespace objects)";

impl Cluster for NoCluster {
    fn get_resource(&self, _: &GetResourceRequest) -> Result<Vec<u8>, String> {
        Err(NO_CLUSTER.to_owned())
    }

    fn list_resources_by_namespace(
        &self,
        _: &ListResourcesByNamespaceRequest,
    ) -> Result<Vec<u8>, String> {
        Err(NO_CLUSTER.to_owned())
    }
}

/// A pod list, as `list_resources_by_namespace` answers it (a Namespace is read as a
/// [`KubeObject`] too: its labels).
#[derive(Debug, Default, Deserialize)]
pub struct PodList<'a> {
    /// `items`.
    #[serde(borrow, default)]
    pub items: Vec<KubeObject<'a>>,
}

/// The uid of an object's controller, if it has one.
pub fn controller_uid<'m>(meta: Option<&'m ObjectMeta<'_>>) -> Option<&'m str> {
    meta?
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|r| r.controller == Some(true))
        .and_then(|r| r.uid.as_deref())
}

/// A cluster known from its objects: Namespaces and Pods given up front (the Namespace
/// documents of `podsec check`'s input, a test's fixture). Answers as Kubewarden's
/// policy-server answers: the object itself; a pod list as `{"apiVersion": "v1", "kind":
/// "PodList", "items": [...]}`; for a missing namespace, an error that names it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Each Namespace, with its JSON as the host call answers it (encoded once).
    namespaces: std::collections::BTreeMap<String, (serde_json::Value, Vec<u8>)>,
    pods: std::collections::BTreeMap<String, Vec<serde_json::Value>>,
}

impl Snapshot {
    /// An empty cluster.
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    /// Takes a Namespace or a Pod; other objects are left out. Whether it was taken.
    pub fn add(&mut self, object: &serde_json::Value) -> bool {
        let kind = object.get("kind").and_then(serde_json::Value::as_str);
        let api_version = object.get("apiVersion").and_then(serde_json::Value::as_str);
        if api_version != Some("v1") {
            return false;
        }
        let meta = object.get("metadata");
        let field = |name: &str| {
            meta.and_then(|m| m.get(name))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        match kind {
            Some("Namespace") => match field("name") {
                Some(name) => {
                    let encoded = serde_json::to_vec(object).unwrap_or_default();
                    self.namespaces.insert(name, (object.clone(), encoded));
                    true
                }
                None => false,
            },
            Some("Pod") => {
                let namespace = field("namespace").unwrap_or_else(|| "default".to_owned());
                self.pods.entry(namespace).or_default().push(object.clone());
                true
            }
            _ => false,
        }
    }

    /// Sets label `key` of namespace `name` (creating the namespace if it is not known).
    pub fn set_label(&mut self, name: &str, key: &str, value: &str) {
        let (namespace, encoded) = self.namespaces.entry(name.to_owned()).or_insert_with(|| {
            let object = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            (object, Vec::new())
        });
        if let Some(meta) = namespace
            .as_object_mut()
            .and_then(|o| o.get_mut("metadata"))
            .and_then(serde_json::Value::as_object_mut)
        {
            let labels = meta
                .entry("labels")
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert(key.to_owned(), serde_json::Value::from(value));
            }
        }
        *encoded = serde_json::to_vec(namespace).unwrap_or_default();
    }

    /// The Namespace object named `name`, if known.
    pub fn namespace(&self, name: &str) -> Option<&serde_json::Value> {
        self.namespaces.get(name).map(|(object, _)| object)
    }

    /// The namespaces known, in name order.
    pub fn namespace_names(&self) -> impl Iterator<Item = &str> {
        self.namespaces.keys().map(String::as_str)
    }

    /// Whether no Namespace is known.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
    }
}

/// policy-server's error for an object that does not exist.
pub fn not_found(api_version: &str, kind: &str, name: &str, namespace: Option<&str>) -> String {
    let namespace = match namespace {
        Some(namespace) => format!("Some({namespace:?})"),
        None => "None".to_owned(),
    };
    format!("Cannot find {api_version}/{kind} named '{name}' inside of namespace '{namespace}'")
}

impl Cluster for Snapshot {
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String> {
        let found = (request.api_version == "v1" && request.kind == "Namespace")
            .then(|| self.namespaces.get(&request.name))
            .flatten();
        match found {
            Some((_, encoded)) => Ok(encoded.clone()),
            None => Err(not_found(
                &request.api_version,
                &request.kind,
                &request.name,
                request.namespace.as_deref(),
            )),
        }
    }

    fn list_resources_by_namespace(
        &self,
        request: &ListResourcesByNamespaceRequest,
    ) -> Result<Vec<u8>, String> {
        pods_only(request, "this host")?;
        let items = self
            .pods
            .get(&request.namespace)
            .map_or(&[][..], Vec::as_slice);
        pod_list(items)
    }
}

/// Refuses a list of anything but v1 Pods, the only list podsec's hosts answer (`host`
/// names the host in the message).
pub fn pods_only(request: &ListResourcesByNamespaceRequest, host: &str) -> Result<(), String> {
    if request.api_version == "v1" && request.kind == "Pod" {
        return Ok(());
    }
    Err(format!(
        "{host} lists only v1/Pod, not {}/{}",
        request.api_version, request.kind
    ))
}

/// A pod list as policy-server answers `list_resources_by_namespace`:
/// `{"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [...]}`, the items
/// serialised where they are.
pub fn pod_list<T: serde::Serialize>(items: &[T]) -> Result<Vec<u8>, String> {
    #[derive(serde::Serialize)]
    struct Empty {}
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct PodListAnswer<'a, T> {
        api_version: &'static str,
        kind: &'static str,
        metadata: Empty,
        items: &'a [T],
    }
    serde_json::to_vec(&PodListAnswer {
        api_version: "v1",
        kind: "PodList",
        metadata: Empty {},
        items,
    })
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_payload_is_the_request_serialised() {
        for name in [
            "shop",
            "",
            "a\"b",
            "back\\slash",
            "ünïcode",
            "\u{1}\n\t",
            "</script>",
        ] {
            let payload = namespace_payload(name).map_err(|e| e.to_string());
            let serialised = serde_json::to_vec(&GetResourceRequest::namespace(name));
            assert_eq!(payload, serialised.map_err(|e| e.to_string()));
            let read = payload.and_then(|bytes| {
                serde_json::from_slice::<GetResourceRequest>(&bytes).map_err(|e| e.to_string())
            });
            assert_eq!(read, Ok(GetResourceRequest::namespace(name)));
        }
    }

    #[test]
    fn a_namespace_is_asked_for_as_get_resource_asks() {
        let mut cluster = Snapshot::new();
        cluster.set_label("shop", "team", "a");
        assert_eq!(
            cluster.get_namespace("shop"),
            cluster.get_resource(&GetResourceRequest::namespace("shop"))
        );
        assert!(cluster.get_namespace("shop").is_ok());
        assert_eq!(
            cluster.get_namespace("other"),
            Err(not_found("v1", "Namespace", "other", None))
        );
    }
}
