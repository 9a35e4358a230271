//! `podsec serve`'s namespace cache against a local API server that speaks the list/watch
//! protocol (JSON lists with `resourceVersion`, `watch=true` streams of JSON events with
//! bookmarks), and answers single GETs; and one with an event log that replays a watch from its
//! `resourceVersion`, answers 410 Gone after a compaction, and goes away and comes back.

use axum::extract::{Path, RawQuery, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use podsec::module::PolicyModule;
use podsec::webhook::cluster::ClusterCache;
use podsec::webhook::{router, AppState, FailurePolicy, WebhookConfig};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt as _;

fn is_watch(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"))
}

#[derive(Default)]
struct Fake {
    namespaces: Mutex<Vec<Value>>,
    /// Namespaces the API has but that lists leave out (created after the last list).
    unlisted: Mutex<HashMap<String, Value>>,
    lists: AtomicUsize,
    gets: AtomicUsize,
}

async fn namespaces(
    State(fake): State<Arc<Fake>>,
    RawQuery(q): RawQuery,
) -> axum::response::Response {
    if is_watch(q.as_deref()) {
        // A watch that sends one bookmark and stays open.
        let bookmark = json!({"type": "BOOKMARK", "object": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"resourceVersion": "10"}}});
        let stream = futures_util::stream::once(async move {
            Ok::<_, std::convert::Infallible>(format!("{bookmark}\n"))
        })
        .chain_pending();
        return axum::body::Body::from_stream(stream).into_response();
    }
    fake.lists.fetch_add(1, Ordering::SeqCst);
    let items = fake.namespaces.lock().expect("lock").clone();
    axum::Json(json!({"apiVersion": "v1", "kind": "NamespaceList", "metadata": {"resourceVersion": "10"}, "items": items})).into_response()
}

async fn pods(RawQuery(q): RawQuery) -> axum::response::Response {
    if is_watch(q.as_deref()) {
        let stream = futures_util::stream::empty::<Result<String, std::convert::Infallible>>()
            .chain_pending();
        return axum::body::Body::from_stream(stream).into_response();
    }
    axum::Json(json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "10"}, "items": []})).into_response()
}

async fn namespace(
    State(fake): State<Arc<Fake>>,
    Path(name): Path<String>,
) -> axum::response::Response {
    fake.gets.fetch_add(1, Ordering::SeqCst);
    if name == "flaky" {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "ServiceUnavailable",
                "code": 503, "message": "etcdserver: request timed out"})),
        )
            .into_response();
    }
    match fake.unlisted.lock().expect("lock").get(&name) {
        Some(ns) => axum::Json(ns.clone()).into_response(),
        None => (
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404,
                "message": format!("namespaces \"{name}\" not found")})),
        )
            .into_response(),
    }
}

trait ChainPending: futures_util::Stream + Sized {
    /// The stream, then never ending (an open watch).
    fn chain_pending(
        self,
    ) -> futures_util::stream::Chain<Self, futures_util::stream::Pending<Self::Item>> {
        futures_util::StreamExt::chain(self, futures_util::stream::pending())
    }
}
impl<S: futures_util::Stream> ChainPending for S {}

fn ns(name: &str, enforce: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "resourceVersion": "5", "labels": {"pod-security.kubernetes.io/enforce": enforce}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_from_a_watch_cache_of_the_api_server() {
    let fake = Arc::new(Fake::default());
    fake.namespaces
        .lock()
        .expect("lock")
        .push(ns("shop", "baseline"));
    fake.unlisted
        .lock()
        .expect("lock")
        .insert("fresh".to_owned(), ns("fresh", "restricted"));
    let app = Router::new()
        .route("/api/v1/namespaces", get(namespaces))
        .route("/api/v1/namespaces/{name}", get(namespace))
        .route("/api/v1/pods", get(pods))
        .with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let config = kube::Config::new(format!("http://{address}").parse().expect("uri"));
    let client = kube::Client::try_from(config).expect("client");
    let cache = ClusterCache::start(client);
    tokio::time::timeout(Duration::from_secs(20), cache.ready())
        .await
        .expect("the cache syncs");
    assert_eq!(cache.namespace_count(), 1);
    assert_eq!(fake.lists.load(Ordering::SeqCst), 1);

    let module = PolicyModule::load(
        None,
        podsec::runtime::SandboxConfig {
            cache_dir: Some(crate::cases::test_cache_dir()),
            ..Default::default()
        },
    )
    .expect("module");
    let config = WebhookConfig {
        failure_policy: FailurePolicy::Fail,
        workers: 2,
        max_pending: 16,
        max_body_bytes: 1 << 20,
        body_timeout: Duration::from_secs(5),
    };
    let state = AppState::with_cluster(
        module,
        &json!({"namespaceLabels": true}),
        config,
        Arc::clone(&cache),
    );
    state.set_ready(true);
    let admit = |namespace: &str, object: Value| {
        let state = Arc::clone(&state);
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": namespace,
            "name": "web", "operation": "CREATE", "userInfo": {"username": "alice"}, "object": object}});
        async move {
            let request = axum::http::Request::post("/validate")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(review.to_string()))
                .expect("request");
            let response = router(state).oneshot(request).await.expect("answer");
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .expect("body")
                .to_bytes();
            let review: Value = serde_json::from_slice(&body).expect("JSON");
            review["response"].clone()
        }
    };
    let pod = json!({"metadata": {"name": "web"}, "spec": {"hostPID": true, "containers": [{"name": "app", "image": "nginx"}]}});
    let shop = admit("shop", pod.clone()).await;
    assert_eq!(shop["allowed"], false, "{shop}");
    assert_eq!(
        shop["status"]["message"],
        "violates PodSecurity \"baseline:latest\": host namespaces (hostPID=true)"
    );
    assert_eq!(
        shop["auditAnnotations"]["enforce-policy"],
        "baseline:latest"
    );
    assert_eq!(
        fake.gets.load(Ordering::SeqCst),
        0,
        "a cached namespace is not fetched"
    );

    // A namespace the cache does not hold yet is fetched once, then remembered.
    for _ in 0..2 {
        let fresh = admit("fresh", pod.clone()).await;
        assert!(
            fresh["status"]["message"]
                .as_str()
                .unwrap_or("")
                .starts_with("violates PodSecurity \"restricted:latest\""),
            "{fresh}"
        );
    }
    assert_eq!(fake.gets.load(Ordering::SeqCst), 1);

    // A namespace the API server cannot be asked about: the failure policy answers (here
    // Fail), and the next request asks again.
    for _ in 0..2 {
        let flaky = admit("flaky", pod.clone()).await;
        assert_eq!(flaky["allowed"], false, "{flaky}");
        let message = flaky["status"]["message"].as_str().unwrap_or("");
        assert!(
            message.starts_with("podsec could not evaluate the request: namespace \"flaky\" is not in the watch cache and the API server could not be asked for it")
                && message.ends_with("(failure policy: fail)"),
            "{message}"
        );
    }
    assert_eq!(
        fake.gets.load(Ordering::SeqCst),
        3,
        "a failed fetch is not remembered"
    );

    // A namespace the API server does not have: PSA's lookup failure.
    let gone = admit("gone", pod).await;
    assert_eq!(gone["status"]["code"], 500, "{gone}");
    assert!(gone["status"]["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("failed to lookup namespace \"gone\""));
}

/// An API server for Namespaces that keeps an event log, as etcd does: a list answers the
/// current state at the newest `resourceVersion`; a watch from version N replays the events
/// after N, then streams new ones; a watch from a version older than the last compaction
/// gets `410 Gone` (an `ERROR` event with an `Expired` Status), which makes a client relist.
/// It can also go away (every request answered 503, open watches closed) and come back.
#[derive(Default)]
struct Logged {
    state: Mutex<LoggedState>,
    /// Open watches: a line to send, or `None` to close the stream.
    feed: Mutex<Vec<tokio::sync::mpsc::UnboundedSender<Option<String>>>>,
    lists: AtomicUsize,
    watches: AtomicUsize,
    refused: AtomicUsize,
    expired: AtomicUsize,
}

#[derive(Default)]
struct LoggedState {
    version: u64,
    namespaces: std::collections::BTreeMap<String, Value>,
    /// (resourceVersion, event line) since the last compaction.
    log: Vec<(u64, String)>,
    compacted: u64,
    down: bool,
}

impl Logged {
    /// Creates or changes namespace `name`; open watches see the event.
    fn put(&self, name: &str, enforce: &str) {
        let mut state = self.state.lock().expect("lock");
        state.version += 1;
        let version = state.version;
        let kind = if state.namespaces.contains_key(name) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let mut object = ns(name, enforce);
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        state.namespaces.insert(name.to_owned(), object.clone());
        let line = format!("{}\n", json!({"type": kind, "object": object}));
        state.log.push((version, line.clone()));
        drop(state);
        self.send(Some(line));
    }

    /// Changes namespace `name` while every watch is closed, then forgets the event log (as
    /// an API server's compaction does): a watch from before the change gets 410 Gone.
    fn change_and_compact(&self, name: &str, enforce: &str) {
        let mut state = self.state.lock().expect("lock");
        state.version += 1;
        let mut object = ns(name, enforce);
        object["metadata"]["resourceVersion"] = json!(state.version.to_string());
        state.namespaces.insert(name.to_owned(), object);
        state.compacted = state.version;
        state.log.clear();
        drop(state);
        self.send(None);
    }

    fn set_down(&self, down: bool) {
        self.state.lock().expect("lock").down = down;
        if down {
            self.send(None);
        }
    }

    fn send(&self, line: Option<String>) {
        let mut feed = self.feed.lock().expect("lock");
        feed.retain(|watch| watch.send(line.clone()).is_ok());
        if line.is_none() {
            feed.clear();
        }
    }
}

fn query_value<'q>(query: Option<&'q str>, key: &str) -> Option<&'q str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

async fn logged_namespaces(
    State(fake): State<Arc<Logged>>,
    RawQuery(q): RawQuery,
) -> axum::response::Response {
    let state = fake.state.lock().expect("lock");
    if state.down {
        fake.refused.fetch_add(1, Ordering::SeqCst);
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the API server is away",
        )
            .into_response();
    }
    if !is_watch(q.as_deref()) {
        fake.lists.fetch_add(1, Ordering::SeqCst);
        let items: Vec<Value> = state.namespaces.values().cloned().collect();
        return axum::Json(json!({"apiVersion": "v1", "kind": "NamespaceList",
            "metadata": {"resourceVersion": state.version.to_string()}, "items": items}))
        .into_response();
    }
    fake.watches.fetch_add(1, Ordering::SeqCst);
    let from: u64 = query_value(q.as_deref(), "resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(state.version);
    if from < state.compacted {
        fake.expired.fetch_add(1, Ordering::SeqCst);
        let gone = json!({"type": "ERROR", "object": {"apiVersion": "v1", "kind": "Status", "status": "Failure",
            "reason": "Expired", "code": 410, "message": format!("too old resource version: {from} ({})", state.compacted)}});
        return axum::body::Body::from(format!("{gone}\n")).into_response();
    }
    let backlog: Vec<Result<String, std::convert::Infallible>> = state
        .log
        .iter()
        .filter(|(version, _)| *version > from)
        .map(|(_, line)| Ok(line.clone()))
        .collect();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    fake.feed.lock().expect("lock").push(sender);
    drop(state);
    let live = futures_util::stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await {
            Some(Some(line)) => Some((Ok(line), receiver)),
            _ => None,
        }
    });
    let stream = futures_util::StreamExt::chain(futures_util::stream::iter(backlog), live);
    axum::body::Body::from_stream(stream).into_response()
}

/// The enforce label of namespace `name` as the cache answers the module's host call.
fn cached_enforce(cache: &ClusterCache, name: &str) -> Option<String> {
    use policy_core::cluster::{Cluster as _, GetResourceRequest};
    let request = GetResourceRequest {
        api_version: "v1".to_owned(),
        kind: "Namespace".to_owned(),
        name: name.to_owned(),
        namespace: None,
        disable_cache: false,
        field_masks: None,
    };
    let answer = cache.get_resource(&request).ok()?;
    let namespace: Value = serde_json::from_slice(&answer).ok()?;
    namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        .as_str()
        .map(str::to_owned)
}

/// Waits (up to 30 s) until the cache answers `enforce` for namespace `name`.
async fn until_cached(cache: &ClusterCache, name: &str, enforce: &str) {
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while cached_enforce(cache, name).as_deref() != Some(enforce) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "namespace {name:?}: the cache answers {:?}, not {enforce:?}",
        cached_enforce(cache, name)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_cache_follows_events_relists_on_410_gone_and_outlives_an_api_server_outage() {
    let fake = Arc::new(Logged::default());
    fake.put("shop", "baseline");
    let app = Router::new()
        .route("/api/v1/namespaces", get(logged_namespaces))
        .route("/api/v1/pods", get(pods))
        .with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = kube::Config::new(format!("http://{address}").parse().expect("uri"));
    let cache = ClusterCache::start(kube::Client::try_from(config).expect("client"));
    tokio::time::timeout(Duration::from_secs(20), cache.ready())
        .await
        .expect("the cache syncs");
    assert_eq!(cached_enforce(&cache, "shop").as_deref(), Some("baseline"));

    // Watch events: a relabel and a new namespace arrive without a relist.
    fake.put("shop", "restricted");
    fake.put("late", "baseline");
    until_cached(&cache, "shop", "restricted").await;
    until_cached(&cache, "late", "baseline").await;
    assert_eq!(fake.lists.load(Ordering::SeqCst), 1, "events, not lists");

    // Compaction: the watch is closed, a change is made and the log compacted; the re-watch
    // from the cache's version gets 410 Gone, and the cache relists.
    fake.change_and_compact("shop", "privileged");
    until_cached(&cache, "shop", "privileged").await;
    assert!(
        fake.expired.load(Ordering::SeqCst) >= 1,
        "the re-watch was told 410 Gone"
    );
    assert_eq!(
        fake.lists.load(Ordering::SeqCst),
        2,
        "one relist after 410 Gone"
    );

    // The API server goes away: the cache keeps answering its last state while the
    // watcher retries.
    fake.set_down(true);
    let refused = tokio::time::timeout(Duration::from_secs(30), async {
        while fake.refused.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        refused.is_ok(),
        "the watcher retries while the API server is away"
    );
    assert_eq!(
        cached_enforce(&cache, "shop").as_deref(),
        Some("privileged")
    );
    assert_eq!(cached_enforce(&cache, "late").as_deref(), Some("baseline"));

    // It comes back with a change made meanwhile: the watch resumes from the cache's
    // version and replays it.
    let lists = fake.lists.load(Ordering::SeqCst);
    fake.put("late", "restricted");
    fake.set_down(false);
    until_cached(&cache, "late", "restricted").await;
    assert_eq!(
        cached_enforce(&cache, "shop").as_deref(),
        Some("privileged")
    );
    assert_eq!(
        fake.lists.load(Ordering::SeqCst),
        lists,
        "resumed from the event log, no relist"
    );
    // The first watch, the one told 410 Gone, and the one that resumed (the watch after
    // the relist may have been refused by the outage).
    assert!(fake.watches.load(Ordering::SeqCst) >= 3);
}
