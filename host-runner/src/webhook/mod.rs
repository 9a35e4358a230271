//! `podsec serve`: a ValidatingAdmissionWebhook (AdmissionReview v1) in front of the
//! sandboxed policy module.
//!
//! Endpoints: `POST /validate`, `POST /mutate` (the mutating mode's JSON Patch answers),
//! `GET /healthz`, `GET /readyz`, `GET /metrics`. Requests
//! to podsec's own module of up to [`INLINE_MAX_BYTES`] are evaluated on the connection's
//! own thread (a typical pod takes ~20 µs; handing it to another thread and back would cost
//! as much again). Larger requests, and every request to a module given by path, are
//! evaluated on a bounded pool of workers; past `max_pending` waiting requests the
//! server answers 503 at once instead of queueing without bound. A request the policy
//! cannot evaluate (deadline, memory cap, crash) is answered by the failure policy.

pub mod cluster;
pub mod limits;
pub mod log;
pub mod metrics;
pub mod tls;

use crate::module::PolicyModule;
use crate::runtime::CallError;
use anyhow::Result;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use log::{log, Level};
use metrics::Metrics;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The largest request evaluated on the connection's own thread, and only with podsec's
/// own module, whose time grows linearly with the request: a 60 KB pod takes ~0.2 ms, so
/// one of this size holds the thread for about a millisecond.
pub const INLINE_MAX_BYTES: usize = 256 * 1024;

/// What the webhook answers when the policy cannot evaluate a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailurePolicy {
    /// Deny the request (fail closed).
    Fail,
    /// Allow the request, with a warning (fail open).
    Ignore,
}

/// The webhook's limits.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// What to answer when an evaluation fails.
    pub failure_policy: FailurePolicy,
    /// Evaluations running at once.
    pub workers: usize,
    /// Requests allowed to wait for a worker; more are answered 503.
    pub max_pending: usize,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Time for a request's body to arrive; a slower one is answered 408.
    pub body_timeout: Duration,
}

/// Everything a request handler needs.
pub struct AppState {
    module: PolicyModule,
    /// The settings `/mutate` evaluates with.
    settings_json: String,
    /// The settings `/validate` evaluates with: the same without `mutate`, so a validating
    /// webhook never answers with a patch.
    validating_settings_json: String,
    config: WebhookConfig,
    /// The webhook's metrics.
    pub metrics: Arc<Metrics>,
    workers: Semaphore,
    ready: AtomicBool,
    /// The namespace-labels mode's watch cache: answers the module's host calls.
    cluster: Option<Arc<cluster::ClusterCache>>,
}

impl AppState {
    /// A state for `module` with `settings` (already validated by the caller).
    pub fn new(module: PolicyModule, settings: &Value, config: WebhookConfig) -> Arc<AppState> {
        AppState::build(module, settings, config, None)
    }

    /// A state whose module's host calls are answered from `cluster`.
    pub fn with_cluster(
        module: PolicyModule,
        settings: &Value,
        config: WebhookConfig,
        cluster: Arc<cluster::ClusterCache>,
    ) -> Arc<AppState> {
        AppState::build(module, settings, config, Some(cluster))
    }

    fn build(
        module: PolicyModule,
        settings: &Value,
        config: WebhookConfig,
        cluster: Option<Arc<cluster::ClusterCache>>,
    ) -> Arc<AppState> {
        let mut validating = settings.clone();
        if let Value::Object(map) = &mut validating {
            map.remove("mutate");
        }
        Arc::new(AppState {
            module,
            settings_json: settings.to_string(),
            validating_settings_json: validating.to_string(),
            workers: Semaphore::new(config.workers.max(1)),
            config,
            metrics: Arc::new(Metrics::default()),
            ready: AtomicBool::new(false),
            cluster,
        })
    }

    /// Marks the server ready (or not) for `/readyz`.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }
}

/// The webhook's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/mutate", post(mutate))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

fn problem(state: &AppState, status: StatusCode, cause: &str, message: String) -> Response {
    state.metrics.error(cause);
    log(
        Level::Debug,
        "rejected a malformed request",
        &[("cause", cause.into()), ("error", message.clone().into())],
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Review<'a> {
    #[serde(borrow, default, rename = "apiVersion")]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    request: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RequestHead<'a> {
    #[serde(borrow, default)]
    uid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<KindHead<'a>>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct KindHead<'a> {
    #[serde(borrow, default)]
    kind: Cow<'a, str>,
}

/// Which webhook a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hook {
    /// `/validate`: a ValidatingWebhookConfiguration; never a patch.
    Validate,
    /// `/mutate`: a MutatingWebhookConfiguration; with `mutate: true` in the settings, a
    /// refusal the fixes undo is an admission with a JSON Patch.
    Mutate,
}

async fn validate(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    admit(state, headers, body, Hook::Validate).await
}

async fn mutate(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    admit(state, headers, body, Hook::Mutate).await
}

async fn admit(state: Arc<AppState>, headers: HeaderMap, body: Body, hook: Hook) -> Response {
    let tracker = Arc::clone(&state);
    let _in_flight = tracker.metrics.in_flight();
    let limit = state.config.max_body_bytes;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    {
        return problem(
            &state,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("podsec expects Content-Type: application/json, not {content_type:?}"),
        );
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return too_large(&state, limit);
    }
    let bytes =
        match tokio::time::timeout(state.config.body_timeout, axum::body::to_bytes(body, limit))
            .await
        {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => return too_large(&state, limit),
            Err(_) => {
                state.metrics.timeout("body");
                let mut response = problem(
                    &state,
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!(
                        "the request body did not arrive within {} ms",
                        state.config.body_timeout.as_millis()
                    ),
                );
                // What is left of the body is never read: the connection goes.
                response.headers_mut().insert(
                    header::CONNECTION,
                    header::HeaderValue::from_static("close"),
                );
                return response;
            }
        };
    let pending = usize::try_from(state.metrics.current_in_flight()).unwrap_or(0);
    if pending
        > state
            .config
            .workers
            .saturating_add(state.config.max_pending)
    {
        return problem(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "podsec is at capacity; retry".to_owned(),
        );
    }
    review(state, bytes, hook).await
}

fn too_large(state: &AppState, limit: usize) -> Response {
    problem(
        state,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the request body is larger than podsec's limit of {limit} bytes"),
    )
}

async fn review(state: Arc<AppState>, bytes: Bytes, hook: Hook) -> Response {
    let review: Review<'_> = match serde_json::from_slice(&bytes) {
        Ok(review) => review,
        Err(error) => {
            return problem(
                &state,
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body is not an AdmissionReview: {error}"),
            )
        }
    };
    if review.kind.as_deref() != Some("AdmissionReview")
        || review.api_version.as_deref() != Some("admission.k8s.io/v1")
    {
        return problem(
            &state,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the body is not an admission.k8s.io/v1 AdmissionReview".to_owned(),
        );
    }
    let Some(raw_request) = review.request else {
        return problem(
            &state,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the AdmissionReview has no request".to_owned(),
        );
    };
    let head: RequestHead<'_> = match serde_json::from_str(raw_request.get()) {
        Ok(head) => head,
        Err(error) => {
            return problem(
                &state,
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the AdmissionReview's request is malformed: {error}"),
            )
        }
    };
    let Some(uid) = head.uid.map(Cow::into_owned) else {
        return problem(
            &state,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the AdmissionReview's request has no uid".to_owned(),
        );
    };
    let kind = head.kind.map(|k| k.kind.into_owned()).unwrap_or_default();
    let namespace = head.namespace.map(Cow::into_owned).unwrap_or_default();
    let name = head.name.map(Cow::into_owned).unwrap_or_default();

    let settings_json = match hook {
        Hook::Validate => &state.validating_settings_json,
        Hook::Mutate => &state.settings_json,
    };
    let mut payload = String::with_capacity(raw_request.get().len() + settings_json.len() + 32);
    payload.push_str("{\"request\":");
    payload.push_str(raw_request.get());
    payload.push_str(",\"settings\":");
    payload.push_str(settings_json);
    payload.push('}');

    if let Some(cluster) = &state.cluster {
        if let Err(error) = cluster.ensure_namespace(&namespace).await {
            let response = failure_answer(&state, &uid, &kind, "cluster", &error);
            let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response});
            return (
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response();
        }
    }
    let host_cluster = state
        .cluster
        .clone()
        .map(|c| c as crate::runtime::HostCluster);
    let inline = state.module.is_builtin() && payload.len() <= INLINE_MAX_BYTES;
    let mut started = Instant::now();
    let outcome = if inline {
        state.module.validate_with(payload.as_bytes(), host_cluster)
    } else {
        let Ok(_worker) = state.workers.acquire().await else {
            return problem(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "podsec is shutting down".to_owned(),
            );
        };
        started = Instant::now();
        let evaluator = Arc::clone(&state);
        tokio::task::spawn_blocking(move || {
            evaluator
                .module
                .validate_with(payload.as_bytes(), host_cluster)
        })
        .await
        .unwrap_or_else(|e| {
            Err(CallError::Protocol(format!(
                "the evaluation task failed: {e}"
            )))
        })
    };
    let elapsed = started.elapsed();
    state.metrics.latency(elapsed);

    let response = match outcome {
        Ok(answer) => {
            let patch = match (hook, &answer.mutated_object) {
                (Hook::Mutate, Some(mutated)) => admission_patch(raw_request.get(), mutated),
                _ => None,
            };
            let verdict = match (answer.accepted, &patch) {
                (false, _) => "denied",
                (true, Some(_)) => "mutated",
                (true, None) => "allowed",
            };
            state.metrics.request(verdict, &kind);
            let mut response = json!({"uid": uid, "allowed": answer.accepted});
            if !answer.accepted {
                response["status"] = json!({
                    "code": answer.code.unwrap_or(403),
                    "message": answer.message.clone().unwrap_or_default(),
                });
            }
            if let Some(warnings) = answer.warnings.filter(|w| !w.is_empty()) {
                response["warnings"] = json!(warnings);
            }
            if let Some(annotations) = answer.audit_annotations.filter(|a| !a.is_empty()) {
                response["auditAnnotations"] = json!(annotations);
            }
            if let Some(patch) = patch {
                response["patchType"] = json!("JSONPatch");
                response["patch"] = json!(patch);
            }
            let level = if verdict == "allowed" {
                Level::Debug
            } else {
                Level::Info
            };
            if log::enabled(level) {
                log(
                    level,
                    verdict,
                    &[
                        ("uid", uid.clone().into()),
                        ("kind", kind.clone().into()),
                        ("namespace", namespace.into()),
                        ("name", name.into()),
                        ("latency_us", (elapsed.as_micros() as u64).into()),
                        ("message", answer.message.unwrap_or_default().into()),
                    ],
                );
            }
            response
        }
        Err(error) => failure_response(&state, &uid, &kind, &error),
    };
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// One connection's service: the router, telling the connection's clocks when a request
/// arrives and when it is answered, and closing the connection after
/// `max_requests_per_connection` requests.
fn connection_service(
    app: Router,
    connection: Arc<limits::ConnectionState>,
    limits: limits::ConnectionLimits,
) -> hyper_util::service::TowerToHyperService<
    impl tower::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = Response,
            Error = std::convert::Infallible,
            Future = impl Future<Output = Result<Response, std::convert::Infallible>> + Send,
        > + Clone,
> {
    use tower::ServiceExt as _;
    hyper_util::service::TowerToHyperService::new(tower::service_fn(
        move |request: hyper::Request<hyper::body::Incoming>| {
            let served = connection.request_started();
            let connection = Arc::clone(&connection);
            let answer = app.clone().oneshot(request.map(Body::new));
            async move {
                let mut response = match answer.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                if limits
                    .max_requests_per_connection
                    .is_some_and(|max| served >= max)
                {
                    response.headers_mut().insert(
                        header::CONNECTION,
                        header::HeaderValue::from_static("close"),
                    );
                }
                connection.request_answered();
                Ok(response)
            }
        },
    ))
}

/// Logs why a connection ended when it ended on an error rather than with the client
/// closing it between requests: a malformed request or a broken TLS stream (info), a
/// timeout or making room for a new connection (debug: the metrics count those, and a
/// flood of slow clients must not flood the log).
fn log_connection_end(peer: std::net::SocketAddr, ended: Result<(), hyper::Error>) {
    if let Err(error) = ended {
        let (level, why) = connection_error(&error);
        log(
            level,
            "connection closed on an error",
            &[("peer", peer.to_string().into()), ("error", why.into())],
        );
    }
}

/// The level and text of a connection's error: each cause in its chain, outermost first
/// (hyper's own message names only the stage, its source says what happened).
fn connection_error(error: &(dyn std::error::Error + 'static)) -> (Level, String) {
    let mut text = error.to_string();
    let mut level = Level::Info;
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::TimedOut
            ) {
                level = Level::Debug;
            }
        }
        if let Some(source) = current.source() {
            text.push_str(": ");
            text.push_str(&source.to_string());
        }
        cause = current.source();
    }
    (level, text)
}

/// The mutating mode's patch, as the API server takes it: the RFC 6902 operations that
/// turn the request's object into `mutated`, as base64 of their JSON. `None` when the
/// request has no object to patch or nothing differs.
pub fn admission_patch(request: &str, mutated: &Value) -> Option<String> {
    use base64::Engine as _;
    #[derive(serde::Deserialize)]
    struct WithObject {
        object: Option<Value>,
    }
    let original = serde_json::from_str::<WithObject>(request).ok()?.object?;
    let patch = json_patch::diff(&original, mutated);
    if patch.0.is_empty() {
        return None;
    }
    let text = serde_json::to_vec(&patch).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(text))
}

fn failure_response(state: &AppState, uid: &str, kind: &str, error: &CallError) -> Value {
    let cause = match error {
        CallError::Timeout(_) | CallError::InitTimeout(_) => "timeout",
        CallError::MemoryLimit(_) => "memory",
        CallError::Trap(_) => "trap",
        CallError::Guest(_) | CallError::Protocol(_) => "protocol",
    };
    failure_answer(state, uid, kind, cause, &error.to_string())
}

/// The failure policy's answer for a request podsec could not evaluate (`cause` is the
/// metrics label: timeout, memory, trap, protocol, cluster).
fn failure_answer(state: &AppState, uid: &str, kind: &str, cause: &str, error: &str) -> Value {
    state.metrics.error(cause);
    state.metrics.request("error", kind);
    log(
        Level::Warn,
        "the policy could not evaluate a request",
        &[
            ("uid", uid.into()),
            ("cause", cause.into()),
            ("error", error.into()),
        ],
    );
    match state.config.failure_policy {
        FailurePolicy::Fail => json!({
            "uid": uid,
            "allowed": false,
            "status": {"code": 500, "message": format!("podsec could not evaluate the request: {error} (failure policy: fail)")},
        }),
        FailurePolicy::Ignore => json!({
            "uid": uid,
            "allowed": true,
            "warnings": [format!("podsec could not evaluate the request: {error}; allowed by failure policy ignore")],
        }),
    }
}

/// Serves the webhook of `state` on `listener` (over TLS when `tls` is given), each
/// connection under `limits`, until `shutdown` completes, then lets in-flight requests
/// finish (up to `drain`).
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<AppState>,
    limits: limits::ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let app = router(Arc::clone(&state));
    let connections = limits::Connections::new(limits.max_connections, Arc::clone(&state.metrics));
    let mut accept_errors = 0u32;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of file descriptors (or memory), the connection stays in the
                    // listen queue and the next accept fails at once: back off instead of
                    // spinning, 5 ms doubling to 1 s.
                    accept_errors = accept_errors.saturating_add(1);
                    let pause = Duration::from_millis(5u64 << accept_errors.min(8)).min(Duration::from_secs(1));
                    log(Level::Warn, "accept failed", &[("error", error.to_string().into()), ("retry_in_ms", u64::try_from(pause.as_millis()).unwrap_or(u64::MAX).into())]);
                    tokio::select! {
                        () = tokio::time::sleep(pause) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        accept_errors = 0;
        let place = match connections.admit() {
            limits::Admission::Now(slot) => Ok(slot),
            limits::Admission::AfterEviction(place) => Err(place),
            limits::Admission::Refused => {
                // Closed at once: every open connection is in a request, and a client
                // must not wait in the listen queue past the API server's timeout.
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        let metrics = Arc::clone(&state.metrics);
        let app = app.clone();
        let connections = Arc::clone(&connections);
        tokio::spawn(async move {
            let slot = match place {
                Ok(slot) => slot,
                // The evicted connection hands its place over within moments.
                Err(place) => match connections.wait(place, limits.handshake_timeout).await {
                    Some(slot) => slot,
                    None => return,
                },
            };
            let _open = metrics.connection();
            let connection = Arc::clone(&slot.state);
            let service = connection_service(app, Arc::clone(&connection), limits);
            let http = hyper::server::conn::http1::Builder::new();
            match acceptor {
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        done = tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream)) => done,
                        () = connection.evicted() => return,
                    };
                    let tls_stream = match handshake {
                        Ok(Ok(tls_stream)) => tls_stream,
                        Ok(Err(error)) => {
                            log(
                                Level::Debug,
                                "TLS handshake failed",
                                &[
                                    ("peer", peer.to_string().into()),
                                    ("error", error.to_string().into()),
                                ],
                            );
                            return;
                        }
                        Err(_) => {
                            metrics.timeout("handshake");
                            return;
                        }
                    };
                    let io = limits::TimedIo::new(tls_stream, limits, connection, metrics);
                    let served = http.serve_connection(hyper_util::rt::TokioIo::new(io), service);
                    log_connection_end(peer, watcher.watch(served).await);
                }
                None => {
                    let io = limits::TimedIo::new(stream, limits, connection, metrics);
                    let served = http.serve_connection(hyper_util::rt::TokioIo::new(io), service);
                    log_connection_end(peer, watcher.watch(served).await);
                }
            }
        });
    }
    log(
        Level::Info,
        "shutting down: finishing in-flight requests",
        &[],
    );
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        log(
            Level::Warn,
            "some connections were still open when the drain period ended",
            &[],
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that names its stage and keeps the I/O error as its source, as hyper's do.
    #[derive(Debug)]
    struct Stage(std::io::Error);

    impl std::fmt::Display for Stage {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error reading a body from connection")
        }
    }

    impl std::error::Error for Stage {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_connection_error_names_its_cause_and_timeouts_and_evictions_are_routine() {
        let broken = Stage(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "received corrupt message of type ApplicationData",
        ));
        assert_eq!(
            connection_error(&broken),
            (
                Level::Info,
                "error reading a body from connection: received corrupt message of type \
                 ApplicationData"
                    .to_owned()
            )
        );
        let timed_out = Stage(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the connection's header timeout passed",
        ));
        assert_eq!(connection_error(&timed_out).0, Level::Debug);
        let evicted = Stage(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "the connection made room for a new one",
        ));
        assert_eq!(connection_error(&evicted).0, Level::Debug);
    }
}
