//! `podsec serve`: the router driven in-process for every endpoint and error path, and
//! end to end over a real TLS socket on 127.0.0.1.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use podsec::module::PolicyModule;
use podsec::runtime::SandboxConfig;
use podsec::webhook::{router, serve, AppState, FailurePolicy, WebhookConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

pub fn config(failure_policy: FailurePolicy) -> WebhookConfig {
    WebhookConfig {
        failure_policy,
        workers: 2,
        max_pending: 16,
        max_body_bytes: 64 * 1024,
        body_timeout: Duration::from_secs(5),
    }
}

pub fn sandbox() -> SandboxConfig {
    SandboxConfig {
        cache_dir: Some(crate::cases::test_cache_dir()),
        deadline: Duration::from_millis(300),
        ..SandboxConfig::default()
    }
}

fn podsec_state(settings: Value) -> Arc<AppState> {
    let module = PolicyModule::load(None, sandbox()).expect("module");
    let state = AppState::new(module, &settings, config(FailurePolicy::Fail));
    state.set_ready(true);
    state
}

pub fn review(uid: &str, kind: (&str, &str), object: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": kind.0, "version": "v1", "kind": kind.1},
            "name": object["metadata"]["name"],
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": object,
        }
    })
}

pub fn privileged_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
           "spec": {"containers": [{"name": "app", "image": "nginx", "securityContext": {"privileged": true}}]}})
}

pub fn plain_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok"},
           "spec": {"containers": [{"name": "app", "image": "nginx"}]}})
}

async fn call(state: &Arc<AppState>, request: Request<Body>) -> (StatusCode, String) {
    let response = router(Arc::clone(state))
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn post_json(body: impl Into<Body>) -> Request<Body> {
    Request::post("/validate")
        .header("content-type", "application/json")
        .body(body.into())
        .expect("request")
}

async fn admit(state: &Arc<AppState>, review: &Value) -> Value {
    let (status, body) = call(state, post_json(review.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    answer["response"].clone()
}

#[tokio::test]
async fn validate_denies_with_psa_message_and_echoes_uid() {
    let state = podsec_state(json!({}));
    let response = admit(&state, &review("uid-1", ("", "Pod"), privileged_pod())).await;
    assert_eq!(response["uid"], "uid-1");
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    assert_eq!(
        response["status"]["message"],
        "violates PodSecurity \"baseline:latest\": privileged (container \"app\" must not set securityContext.privileged=true)"
    );
    let allowed = admit(&state, &review("uid-2", ("", "Pod"), plain_pod())).await;
    assert_eq!(allowed, json!({"uid": "uid-2", "allowed": true}));
}

/// Small requests to the built-in module are evaluated on the connection's thread, larger
/// ones on the worker pool: both give the same answer.
#[tokio::test]
async fn requests_past_the_inline_limit_get_the_same_answer_from_the_pool() {
    let module = PolicyModule::load(None, sandbox()).expect("module");
    let state = AppState::new(
        module,
        &json!({}),
        WebhookConfig {
            max_body_bytes: 8 * 1024 * 1024,
            ..config(FailurePolicy::Fail)
        },
    );
    state.set_ready(true);
    let small = review("small", ("", "Pod"), privileged_pod());
    let mut padded_pod = privileged_pod();
    padded_pod["metadata"]["annotations"] =
        json!({"example.com/notes": "x".repeat(podsec::webhook::INLINE_MAX_BYTES)});
    let large = review("large", ("", "Pod"), padded_pod);
    assert!(large.to_string().len() > podsec::webhook::INLINE_MAX_BYTES);
    let inline = admit(&state, &small).await;
    let pooled = admit(&state, &large).await;
    assert_eq!(inline["uid"], "small");
    assert_eq!(pooled["uid"], "large");
    assert_eq!(inline["allowed"], false);
    assert_eq!(inline["status"], pooled["status"]);
}

#[tokio::test]
async fn validate_workloads_and_audit_effect() {
    let state = podsec_state(json!({"effect": "audit"}));
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"hostPID": true, "containers": [{"name": "app", "image": "nginx"}]}}}});
    let response = admit(&state, &review("uid-3", ("apps", "Deployment"), deployment)).await;
    assert_eq!(response["allowed"], true);
    let warning = "Deployment \"web\": would violate PodSecurity \"baseline:latest\": host namespaces (hostPID=true)";
    assert_eq!(response["warnings"], json!([warning]));
    assert_eq!(
        response["auditAnnotations"],
        json!({"audit-violations": warning})
    );
}

#[tokio::test]
async fn malformed_and_wrong_bodies_are_rejected_clearly() {
    let state = podsec_state(json!({}));
    let (status, body) = call(&state, post_json("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("the body is not an AdmissionReview"),
        "{body}"
    );

    let (status, body) = call(&state, post_json(json!({"kind": "Pod"}).to_string())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("not an admission.k8s.io/v1 AdmissionReview"),
        "{body}"
    );

    let no_uid = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"operation": "CREATE"}});
    let (status, body) = call(&state, post_json(no_uid.to_string())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("has no uid"), "{body}");

    let no_request = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"});
    let (status, _) = call(&state, post_json(no_request.to_string())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let text = Request::post("/validate")
        .header("content-type", "text/plain")
        .body(Body::from("hello"))
        .expect("request");
    let (status, body) = call(&state, text).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body.contains("expects Content-Type: application/json"),
        "{body}"
    );

    let big = vec![b' '; 70 * 1024];
    let (status, body) = call(&state, post_json(big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body.contains("larger than podsec's limit of 65536 bytes"),
        "{body}"
    );

    let (status, _) = call(
        &state,
        Request::get("/validate")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = call(
        &state,
        Request::get("/nope").body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_objects_are_denied_with_400() {
    let state = podsec_state(json!({}));
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "typo"},
        "spec": {"containers": [{"name": "app", "securityContext": {"privileged": "yes"}}]}});
    let response = admit(&state, &review("uid-4", ("", "Pod"), pod)).await;
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 400);
    assert!(response["status"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("spec.containers[0].securityContext.privileged"));
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let state = podsec_state(json!({}));
    let (status, body) = call(
        &state,
        Request::get("/healthz")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    let (status, _) = call(
        &state,
        Request::get("/readyz")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    state.set_ready(false);
    let (status, _) = call(
        &state,
        Request::get("/readyz")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    admit(&state, &review("uid-5", ("", "Pod"), privileged_pod())).await;
    admit(&state, &review("uid-6", ("", "Pod"), plain_pod())).await;
    call(&state, post_json("{")).await;
    let (status, text) = call(
        &state,
        Request::get("/metrics")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("podsec_requests_total{verdict=\"denied\",kind=\"Pod\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("podsec_requests_total{verdict=\"allowed\",kind=\"Pod\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("podsec_errors_total{cause=\"bad_request\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("podsec_evaluation_duration_seconds_count 2"),
        "{text}"
    );
    assert!(text.contains("podsec_in_flight_requests 0"), "{text}");
}

fn hostile_state(body: &str, failure_policy: FailurePolicy) -> Arc<AppState> {
    let wat = format!(
        r#"(module (import "wapc" "__guest_request" (func $request (param i32 i32)))
                   (memory (export "memory") 1) {body})"#
    );
    let dir = std::env::temp_dir().join(format!(
        "podsec-webhook-{}-{}",
        std::process::id(),
        body.len()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("hostile.wat");
    std::fs::write(&path, wat).expect("write");
    let module = PolicyModule::load(Some(&path), sandbox()).expect("loads");
    let state = AppState::new(module, &json!({}), config(failure_policy));
    state.set_ready(true);
    state
}

#[tokio::test]
async fn hostile_modules_answer_by_failure_policy_and_the_server_goes_on() {
    let looping = r#"(func (export "__guest_call") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0))"#;
    let bomb = r#"(func (export "__guest_call") (param i32 i32) (result i32)
        (loop $g (br_if $g (i32.ne (memory.grow (i32.const 64)) (i32.const -1)))) unreachable)"#;
    let trap = r#"(func (export "__guest_call") (param i32 i32) (result i32) unreachable)"#;
    for (body, cause) in [
        (looping, "deadline of 300 ms"),
        (bomb, "memory limit"),
        (trap, "crashed"),
    ] {
        let state = hostile_state(body, FailurePolicy::Fail);
        for uid in ["first", "second"] {
            let response = admit(&state, &review(uid, ("", "Pod"), plain_pod())).await;
            assert_eq!(response["uid"], uid);
            assert_eq!(response["allowed"], false);
            assert_eq!(response["status"]["code"], 500);
            let message = response["status"]["message"].as_str().unwrap_or("");
            assert!(
                message.contains(cause) && message.contains("failure policy: fail"),
                "{message}"
            );
        }
        let (_, metrics) = call(
            &state,
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert!(metrics.contains("podsec_errors_total"), "{metrics}");
    }
    let state = hostile_state(looping, FailurePolicy::Ignore);
    let response = admit(&state, &review("open", ("", "Pod"), plain_pod())).await;
    assert_eq!(response["allowed"], true);
    assert!(response["warnings"][0]
        .as_str()
        .unwrap_or("")
        .contains("allowed by failure policy ignore"));
}

pub mod tls {
    use super::*;
    use http_body_util::Full;
    use hyper::body::Bytes;
    use rustls::pki_types::ServerName;
    use std::net::SocketAddr;

    pub struct Client {
        config: Arc<rustls::ClientConfig>,
        addr: SocketAddr,
    }

    impl Client {
        pub fn new(ca_pem: &str, addr: SocketAddr) -> Client {
            use rustls::pki_types::pem::PemObject as _;
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
                roots.add(cert.expect("PEM")).expect("root");
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            // A full handshake on every connection, as the API server's client makes: a
            // resumed one would not show the server's certificate at all.
            config.resumption = rustls::client::Resumption::disabled();
            Client {
                config: Arc::new(config),
                addr,
            }
        }

        pub async fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
            self.try_post(path, content_type, body)
                .await
                .expect("response")
        }

        /// A full TLS handshake, then the connection closed without a request; whether the
        /// handshake completed.
        pub async fn handshake_only(&self) -> bool {
            let Ok(stream) = tokio::net::TcpStream::connect(self.addr).await else {
                return false;
            };
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.config));
            let name = ServerName::try_from("localhost").expect("name");
            connector.connect(name, stream).await.is_ok()
        }

        /// `None` when the server closed the connection before the client finished sending
        /// (as it may when it answers 413 without reading an oversized body).
        pub async fn try_post(
            &self,
            path: &str,
            content_type: &str,
            body: Vec<u8>,
        ) -> Option<(u16, String)> {
            let stream = tokio::net::TcpStream::connect(self.addr)
                .await
                .expect("connect");
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.config));
            let name = ServerName::try_from("localhost").expect("name");
            let tls = connector
                .connect(name, stream)
                .await
                .expect("TLS handshake");
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                    .await
                    .expect("HTTP handshake");
            tokio::spawn(connection);
            let request = hyper::Request::post(path)
                .header("host", "localhost")
                .header("content-type", content_type)
                .body(Full::new(Bytes::from(body)))
                .expect("request");
            let response = sender.send_request(request).await.ok()?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.ok()?.to_bytes();
            Some((status, String::from_utf8_lossy(&body).into_owned()))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_over_tls() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate");
    let dir = std::env::temp_dir().join(format!("podsec-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cert_pem = certified.cert.pem();
    std::fs::write(dir.join("tls.crt"), &cert_pem).expect("cert");
    std::fs::write(dir.join("tls.key"), certified.signing_key.serialize_pem()).expect("key");

    let state = podsec_state(json!({}));
    let cert =
        podsec::webhook::tls::ReloadingCert::load(&dir.join("tls.crt"), &dir.join("tls.key"))
            .expect("loads");
    let tls_config = cert.server_config().expect("TLS config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        Some(tls_config),
        Arc::clone(&state),
        podsec::webhook::limits::ConnectionLimits::default(),
        async {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));
    let client = tls::Client::new(&cert_pem, addr);
    let json_type = "application/json";

    let (status, body) = client
        .post(
            "/validate",
            json_type,
            review("e2e-1", ("", "Pod"), plain_pod())
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON")["response"],
        json!({"uid": "e2e-1", "allowed": true})
    );

    let (status, body) = client
        .post(
            "/validate",
            json_type,
            review("e2e-2", ("", "Pod"), privileged_pod())
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    let response = serde_json::from_str::<Value>(&body).expect("JSON")["response"].clone();
    assert_eq!(
        response["status"]["message"],
        "violates PodSecurity \"baseline:latest\": privileged (container \"app\" must not set securityContext.privileged=true)"
    );

    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
        "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "i", "ports": [{"containerPort": 80, "hostPort": 80}]}]}}}});
    let (_, body) = client
        .post(
            "/validate",
            json_type,
            review("e2e-3", ("batch", "Job"), job)
                .to_string()
                .into_bytes(),
        )
        .await;
    let response = serde_json::from_str::<Value>(&body).expect("JSON")["response"].clone();
    assert_eq!(response["status"]["message"], "Job \"migrate\": violates PodSecurity \"baseline:latest\": hostPort (container \"m\" uses hostPort 80)");

    let (status, _) = client.post("/validate", json_type, b"{oops".to_vec()).await;
    assert_eq!(status, 400);
    let oversized = client
        .try_post("/validate", json_type, vec![b' '; 100 * 1024])
        .await;
    assert!(matches!(oversized, None | Some((413, _))), "{oversized:?}");
    let (status, _) = client
        .post("/validate", "application/xml", b"<x/>".to_vec())
        .await;
    assert_eq!(status, 415);

    stop.send(()).expect("stop");
    server
        .await
        .expect("server task")
        .expect("server ends cleanly");
}

/// `/mutate` with `mutate: true`: the API server gets `patchType: JSONPatch` and a patch
/// that, applied to the request's object with the `json-patch` crate, gives exactly the
/// module's `mutated_object`; `/validate` on the same server never patches; a pod the
/// fixes cannot make pass is denied on both.
#[tokio::test]
async fn the_mutating_webhook_answers_with_a_json_patch() {
    use base64::Engine as _;
    let settings = json!({"level": "restricted", "mutate": true});
    let state = podsec_state(settings.clone());
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"securityContext": {"runAsNonRoot": true},
                 "containers": [{"name": "app", "image": "nginx",
                                 "securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}]}});
    let request = review("m-1", ("", "Pod"), pod.clone());
    let post = |path: &str, body: &Value| {
        Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let (status, body) = call(&state, post("/mutate", &request)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    let response = &answer["response"];
    assert_eq!(response["uid"], "m-1");
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(response["patchType"], "JSONPatch");
    assert!(response["warnings"][0]
        .as_str()
        .unwrap_or("")
        .starts_with("podsec changed the object to pass: set spec.containers[0].securityContext.allowPrivilegeEscalation = false"));
    let patch_bytes = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().expect("a base64 patch"))
        .expect("base64");
    let patch: json_patch::Patch = serde_json::from_slice(&patch_bytes).expect("an RFC 6902 patch");
    let mut patched = pod.clone();
    json_patch::patch(&mut patched, &patch).expect("the patch applies to the request's object");

    let module = PolicyModule::load(None, sandbox()).expect("module");
    let payload = json!({"request": request["request"], "settings": settings});
    let direct = module
        .validate(payload.to_string().as_bytes())
        .expect("the module answers");
    assert_eq!(direct.mutated_object.as_ref(), Some(&patched));
    assert_eq!(
        patched["spec"]["containers"][0]["securityContext"],
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["NET_RAW", "ALL"]}})
    );
    assert_eq!(
        patched["spec"]["securityContext"]["seccompProfile"],
        json!({"type": "RuntimeDefault"})
    );

    let (_, body) = call(&state, post("/validate", &request)).await;
    let validated: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(validated["response"]["allowed"], false);
    assert!(validated["response"].get("patch").is_none());

    let denied = admit_at(
        &state,
        "/mutate",
        &review("m-2", ("", "Pod"), privileged_pod()),
    )
    .await;
    assert_eq!(denied["allowed"], false);
    assert!(denied.get("patch").is_none() && denied.get("patchType").is_none());
}

async fn admit_at(state: &Arc<AppState>, path: &str, review: &Value) -> Value {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(review.to_string()))
        .expect("request");
    let (status, body) = call(state, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    answer["response"].clone()
}
