//! `podsec serve`'s view of the cluster, for the namespace-labels mode: Namespaces and Pods
//! kept in memory by watching the API server (kube's watcher and reflector: list, then
//! watch from the list's `resourceVersion`, bookmarks, a relist on `410 Gone`, retries with
//! backoff while the API server is away, the last state served meanwhile). The module's
//! host calls are answered from it, as Kubewarden's policy-server answers them.
//!
//! A namespace missing from the cache (created a moment ago, before its watch event came)
//! is fetched from the API server once, before the request is evaluated; when the API server
//! cannot be asked, the webhook's failure policy answers.

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt as _};
use kube::{Client, ResourceExt as _};
use policy_core::cluster::{
    not_found, pod_list, pods_only, Cluster, GetResourceRequest, ListResourcesByNamespaceRequest,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a request waits for the API server when its namespace is not in the cache
/// (the API server itself waits 10 s for the whole webhook call by default).
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The Namespaces and Pods of a cluster, kept current by watches.
pub struct ClusterCache {
    namespaces: Store<Namespace>,
    pods: Store<Pod>,
    /// Namespaces fetched one at a time because the cache did not have them yet.
    fetched: Mutex<HashMap<String, Option<Namespace>>>,
    client: Client,
}

impl ClusterCache {
    /// Starts watching Namespaces and Pods with `client` (on the current tokio runtime).
    pub fn start(client: Client) -> std::sync::Arc<ClusterCache> {
        let (namespaces, namespace_writer) = reflector::store::<Namespace>();
        let (pods, pod_writer) = reflector::store::<Pod>();
        let namespace_stream = watcher(
            Api::<Namespace>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .modify(|ns| ns.managed_fields_mut().clear())
        .reflect(namespace_writer);
        // The dry run reads a pod's name, annotations, owners and spec: the rest is dropped
        // to keep the cache small.
        let pod_stream = watcher(Api::<Pod>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .modify(|pod| {
                pod.managed_fields_mut().clear();
                pod.status = None;
            })
            .reflect(pod_writer);
        tokio::spawn(drain(namespace_stream, "namespaces"));
        tokio::spawn(drain(pod_stream, "pods"));
        std::sync::Arc::new(ClusterCache {
            namespaces,
            pods,
            fetched: Mutex::new(HashMap::new()),
            client,
        })
    }

    /// Waits for the first full list of both kinds.
    pub async fn ready(&self) {
        let _ = self.namespaces.wait_until_ready().await;
        let _ = self.pods.wait_until_ready().await;
    }

    /// Namespaces known.
    pub fn namespace_count(&self) -> usize {
        self.namespaces.state().len()
    }

    /// Makes sure namespace `name` can be answered: known to the watch, or fetched once
    /// (a namespace the API server says does not exist is remembered as missing). `Err`
    /// when the API server could not say, within [`FETCH_TIMEOUT`]: the request is then
    /// answered by the failure policy, and the next one asks again.
    pub async fn ensure_namespace(&self, name: &str) -> Result<(), String> {
        if name.is_empty() || self.namespaces.get(&ObjectRef::new(name)).is_some() {
            return Ok(());
        }
        if self.fetched.lock().is_ok_and(|f| f.contains_key(name)) {
            return Ok(());
        }
        let api = Api::<Namespace>::all(self.client.clone());
        let found = match tokio::time::timeout(FETCH_TIMEOUT, api.get_opt(name)).await {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => {
                return Err(format!(
                    "namespace {name:?} is not in the watch cache and the API server could not be asked for it: {error}"
                ))
            }
            Err(_) => {
                return Err(format!(
                    "namespace {name:?} is not in the watch cache and the API server did not answer within {} s",
                    FETCH_TIMEOUT.as_secs()
                ))
            }
        };
        if let Ok(mut map) = self.fetched.lock() {
            map.insert(name.to_owned(), found);
        }
        Ok(())
    }

    fn namespace(&self, name: &str) -> Option<Namespace> {
        if let Some(ns) = self.namespaces.get(&ObjectRef::new(name)) {
            return Some((*ns).clone());
        }
        self.fetched.lock().ok()?.get(name).cloned().flatten()
    }
}

async fn drain(
    stream: impl futures_util::Stream<Item = Result<watcher::Event<impl Sized>, watcher::Error>>,
    what: &str,
) {
    use futures_util::StreamExt as _;
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        if let Err(error) = event {
            crate::webhook::log::log(
                crate::webhook::log::Level::Warn,
                "the watch failed; retrying",
                &[
                    ("resource", what.into()),
                    ("error", error.to_string().into()),
                ],
            );
        }
    }
}

impl Cluster for ClusterCache {
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String> {
        let found = (request.api_version == "v1" && request.kind == "Namespace")
            .then(|| self.namespace(&request.name))
            .flatten();
        match found {
            Some(namespace) => serde_json::to_vec(&namespace).map_err(|e| e.to_string()),
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
        pods_only(request, "podsec serve")?;
        let items: Vec<std::sync::Arc<Pod>> = self
            .pods
            .state()
            .into_iter()
            .filter(|pod| pod.metadata.namespace.as_deref() == Some(request.namespace.as_str()))
            .collect();
        let items: Vec<&Pod> = items.iter().map(|p| p.as_ref()).collect();
        pod_list(&items)
    }
}
