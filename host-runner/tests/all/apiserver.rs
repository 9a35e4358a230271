//! `podsec serve`'s namespace cache against a local API server that speaks the list/watch
//! protocol (JSON lists with `resourceVersion`, `watch=true` streams of JSON events with
//! bookmarks), and answers single GETs.

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

    // A namespace the API server does not have: PSA's lookup failure.
    let gone = admit("gone", pod).await;
    assert_eq!(gone["status"]["code"], 500, "{gone}");
    assert!(gone["status"]["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("failed to lookup namespace \"gone\""));
}
