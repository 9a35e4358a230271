//! `podsec serve` against clients that misbehave, on loopback: each limit closes the
//! misbehaving connection in bounded time, counts it in the metrics, and a well-behaved
//! client is answered meanwhile. Every loop here is bounded in count and time.

use crate::webhook::{config, plain_pod, review};
use podsec::webhook::limits::ConnectionLimits;
use podsec::webhook::{serve, AppState, FailurePolicy};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Short limits, so the tests take seconds (and long enough that a loaded machine still
/// moves a well-behaved request well inside them).
fn short() -> ConnectionLimits {
    ConnectionLimits {
        max_connections: 64,
        handshake_timeout: Duration::from_millis(800),
        header_timeout: Duration::from_millis(800),
        body_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_millis(1200),
        max_requests_per_connection: None,
    }
}

struct Server {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(limits: ConnectionLimits, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let mut webhook = config(FailurePolicy::Fail);
        webhook.body_timeout = limits.body_timeout;
        let module =
            podsec::module::PolicyModule::load(None, crate::webhook::sandbox()).expect("module");
        let state = AppState::new(module, &serde_json::json!({}), webhook);
        state.set_ready(true);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            tls,
            Arc::clone(&state),
            limits,
            async {
                let _ = stopped.await;
            },
            Duration::from_secs(2),
        ));
        Server {
            addr,
            state,
            stop: Some(stop),
            task,
        }
    }

    fn metrics(&self) -> String {
        self.state.metrics.render()
    }

    /// Connections a timeout of `kind` closed.
    fn timeouts(&self, kind: &str) -> u64 {
        counter(
            &self.metrics(),
            &format!("podsec_connection_timeouts_total{{kind=\"{kind}\"}}"),
        )
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

fn review_bytes(uid: &str) -> Vec<u8> {
    review(uid, ("", "Pod"), plain_pod())
        .to_string()
        .into_bytes()
}

fn request_text(uid: &str, keep_alive: bool) -> Vec<u8> {
    let body = review_bytes(uid);
    let mut text = format!(
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
        body.len(),
        if keep_alive { "" } else { "Connection: close\r\n" }
    )
    .into_bytes();
    text.extend(body);
    text
}

/// Reads one HTTP response (status, head, body) from `stream`, within `within`.
async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<(u16, String, String)> {
    tokio::time::timeout(within, async {
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if data.len() >= end + 4 + length {
                    let status = head.split(' ').nth(1)?.parse().ok()?;
                    let body =
                        String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned();
                    return Some((status, head, body));
                }
            }
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            data.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .ok()
    .flatten()
}

/// A well-behaved client: a fresh connection, one review, its answer.
async fn well_behaved(addr: SocketAddr, uid: &str) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(&request_text(uid, false))
        .await
        .expect("send");
    let (status, _, body) = read_response(&mut stream, Duration::from_secs(2))
        .await
        .expect("an answer");
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["response"]["uid"], uid);
    assert_eq!(answer["response"]["allowed"], true);
}

/// How long until the server closes `stream` (reads end), at most `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .map(|()| start.elapsed())
}

fn counter(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

/// Slowloris: a head sent a line at a time, never finished. The connection is closed once
/// the head's time is up, while other clients are answered throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_that_never_ends_is_dropped() {
    let server = Server::start(short(), None).await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .expect("send");
    let trickle = async {
        for i in 0..30 {
            if slow
                .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    let others = async {
        for i in 0..5 {
            well_behaved(server.addr, &format!("good-{i}")).await;
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
    };
    let (_, ()) = tokio::join!(trickle, others);
    let closed = closed_within(&mut slow, Duration::from_secs(3)).await;
    assert!(closed.is_some(), "the slow head's connection stays open");
    assert_eq!(server.timeouts("header"), 1);
    server.stop().await;
}

/// A client that connects and sends nothing is closed when its first head's time is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed() {
    let server = Server::start(short(), None).await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    well_behaved(server.addr, "good").await;
    let closed = closed_within(&mut silent, Duration::from_secs(4))
        .await
        .expect("closed");
    assert!(
        closed < Duration::from_millis(2500),
        "closed after {closed:?}"
    );
    // The first head's clock runs from the connection's start.
    assert_eq!(server.timeouts("header"), 1);
    server.stop().await;
}

/// A body trickled a byte at a time is answered 408 once its time is up, and the
/// connection closed; other clients are answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_gets_408() {
    let server = Server::start(short(), None).await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{")
        .await
        .expect("send");
    let (mut reader, mut writer) = slow.split();
    let trickle = async {
        for _ in 0..20 {
            if writer.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let answer = async {
        let mut data = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), reader.read_to_end(&mut data)).await;
        String::from_utf8_lossy(&data).into_owned()
    };
    let others = async {
        for i in 0..4 {
            well_behaved(server.addr, &format!("good-{i}")).await;
        }
    };
    let ((), answer, ()) = tokio::join!(trickle, answer, others);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert_eq!(server.timeouts("body"), 1);
    server.stop().await;
}

/// Keep-alive: a connection that keeps asking stays open past every limit; one that goes
/// quiet is closed when the idle time is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed_and_busy_ones_kept() {
    let server = Server::start(short(), None).await;
    let mut busy = TcpStream::connect(server.addr).await.expect("connect");
    // 16 requests 150 ms apart: 2.4 s, past the head (0.8 s) and idle (1.2 s) limits.
    for i in 0..16 {
        busy.write_all(&request_text(&format!("busy-{i}"), true))
            .await
            .expect("send");
        let (status, _, _) = read_response(&mut busy, Duration::from_secs(2))
            .await
            .expect("the busy connection answers");
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let closed = closed_within(&mut busy, Duration::from_secs(4))
        .await
        .expect("the quiet connection is closed");
    // The idle clock (1.2 s from the last byte, 150 ms before this wait), not a head's.
    assert!(
        closed >= Duration::from_millis(800),
        "closed after {closed:?}"
    );
    let metrics = server.metrics();
    assert_eq!(server.timeouts("idle"), 1, "{metrics}");
    assert_eq!(server.timeouts("header"), 0, "{metrics}");
    server.stop().await;
}

/// Past `max_connections`, a new connection takes the place of the one that has waited
/// longest for a request: holders that never send cannot lock clients out until their head
/// time runs out (long here, so only the eviction can explain the answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_takes_the_place_of_one_that_never_sent() {
    let limits = ConnectionLimits {
        max_connections: 3,
        header_timeout: Duration::from_secs(60),
        ..short()
    };
    let server = Server::start(limits, None).await;
    let mut holders = Vec::new();
    for _ in 0..3 {
        holders.push(TcpStream::connect(server.addr).await.expect("connect"));
        // Distinct waiting times: the first is the longest waiting.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(counter(&server.metrics(), "podsec_connections_open"), 3);
    well_behaved(server.addr, "newcomer").await;
    let first = holders.first_mut().expect("three holders");
    closed_within(first, Duration::from_secs(1))
        .await
        .expect("the longest waiting holder is closed");
    let metrics = server.metrics();
    assert_eq!(
        counter(&metrics, "podsec_connections_evicted_total"),
        1,
        "{metrics}"
    );
    assert_eq!(
        counter(&metrics, "podsec_connections_refused_total"),
        0,
        "{metrics}"
    );
    // The other two still hold their places, and are served when they send.
    for (i, holder) in holders.iter_mut().enumerate().skip(1) {
        assert_eq!(
            exchange(holder, &format!("holder{i}")).await,
            Seen::Answered
        );
    }
    server.stop().await;
}

/// Past `max_connections` while every open connection is in the middle of a request (a
/// body still to come), a new connection is closed at once and counted; once those
/// requests end, clients are answered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_refused_when_all_are_busy() {
    let limits = ConnectionLimits {
        max_connections: 3,
        body_timeout: Duration::from_secs(30),
        ..short()
    };
    let server = Server::start(limits, None).await;
    let mut holders = Vec::new();
    for i in 0..3 {
        let mut holder = TcpStream::connect(server.addr).await.expect("connect");
        let text = request_text(&format!("busy{i}"), true);
        let head = text
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("head")
            + 4;
        let (head, body) = text.split_at(head);
        holder.write_all(head).await.expect("head");
        holders.push((holder, body.to_vec()));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut refused = TcpStream::connect(server.addr)
        .await
        .expect("the kernel accepts");
    let closed = closed_within(&mut refused, Duration::from_secs(1))
        .await
        .expect("closed at once");
    assert!(
        closed < Duration::from_millis(300),
        "closed after {closed:?}"
    );
    let metrics = server.metrics();
    assert_eq!(
        counter(&metrics, "podsec_connections_refused_total"),
        1,
        "{metrics}"
    );
    assert_eq!(
        counter(&metrics, "podsec_connections_evicted_total"),
        0,
        "{metrics}"
    );
    assert_eq!(counter(&metrics, "podsec_connections_open"), 3);
    // The bodies arrive: each request is answered, and the connections become evictable.
    for (i, (holder, body)) in holders.iter_mut().enumerate() {
        holder.write_all(body).await.expect("body");
        let (status, _, answer) = read_response(holder, Duration::from_secs(2))
            .await
            .expect("answered");
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains(&format!("busy{i}")));
    }
    well_behaved(server.addr, "after").await;
    server.stop().await;
}

/// Raises this process's soft limit of open files as far as it goes, which must leave room
/// for `needed`.
fn open_files(needed: u64) {
    let soft = podsec::webhook::limits::raise_open_files();
    assert!(
        soft.is_none_or(|soft| soft >= needed),
        "this test needs {needed} open files; the hard limit is {soft:?}"
    );
}

/// 10,000 connections held open and idle, on a server that allows 1,000: one in ten made a
/// request first (idle keep-alive), the rest never sent a byte. The server never holds more
/// than its limit, and a well-behaved client is answered during and after the flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_idle_connections() {
    open_files(12_000);
    let limits = ConnectionLimits {
        max_connections: 1_000,
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        ..short()
    };
    let server = Server::start(limits, None).await;
    let mut idle = Vec::with_capacity(10_000);
    for i in 0..10_000u32 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        if i % 10 == 0 {
            // Evicted meanwhile, if it waited longest: the answer or the close.
            let _ = exchange(&mut stream, &format!("idle{i}")).await;
        }
        idle.push(stream);
        if i % 2_500 == 1_250 {
            well_behaved(server.addr, &format!("during{i}")).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = server.metrics();
    let open = counter(&metrics, "podsec_connections_open");
    assert!(
        open <= 1_000,
        "{open} connections open past the limit of 1,000"
    );
    assert!(
        counter(&metrics, "podsec_connections_evicted_total") >= 9_000,
        "{metrics}"
    );
    for i in 0..20 {
        well_behaved(server.addr, &format!("after{i}")).await;
    }
    assert_eq!(
        counter(&server.metrics(), "podsec_connections_refused_total"),
        0
    );
    drop(idle);
    server.stop().await;
}

/// `max_requests_per_connection`: the last answer says `Connection: close`, and the server
/// closes the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_ends_after_its_requests() {
    let limits = ConnectionLimits {
        max_requests_per_connection: Some(2),
        ..short()
    };
    let server = Server::start(limits, None).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(&request_text("one", true))
        .await
        .expect("send");
    let (_, head, _) = read_response(&mut stream, Duration::from_secs(2))
        .await
        .expect("first");
    assert!(
        !head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    stream
        .write_all(&request_text("two", true))
        .await
        .expect("send");
    let (status, head, _) = read_response(&mut stream, Duration::from_secs(2))
        .await
        .expect("second");
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    assert!(closed_within(&mut stream, Duration::from_secs(1))
        .await
        .is_some());
    server.stop().await;
}

/// TLS: a client that connects and never starts its handshake is closed when the
/// handshake's time is up; a TLS client is answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_tls_handshake_is_closed() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let dir = std::env::temp_dir().join(format!("podsec-limits-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cert_pem = certified.cert.pem();
    std::fs::write(dir.join("tls.crt"), &cert_pem).expect("cert");
    std::fs::write(dir.join("tls.key"), certified.signing_key.serialize_pem()).expect("key");
    let cert =
        podsec::webhook::tls::ReloadingCert::load(&dir.join("tls.crt"), &dir.join("tls.key"))
            .expect("loads");
    let server = Server::start(short(), Some(cert.server_config().expect("TLS config"))).await;
    let mut stalled = TcpStream::connect(server.addr).await.expect("connect");
    let client = crate::webhook::tls::Client::new(&cert_pem, server.addr);
    let (status, body) = client
        .post("/validate", "application/json", review_bytes("tls-good"))
        .await;
    assert_eq!(status, 200, "{body}");
    let closed = closed_within(&mut stalled, Duration::from_secs(4))
        .await
        .expect("closed");
    assert!(
        closed < Duration::from_millis(2500),
        "closed after {closed:?}"
    );
    assert_eq!(server.timeouts("handshake"), 1);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A handshake flood on a TLS server that allows 200 connections: 3,000 connections that
/// send the first bytes of a ClientHello and stall, beside 200 full handshakes that end
/// without a request. The server never holds more than its limit, the stalled ones make
/// room instead of waiting out the (long) handshake time, and a TLS client is answered
/// during and after the flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_flood() {
    open_files(5_000);
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let dir = std::env::temp_dir().join(format!("podsec-flood-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cert_pem = certified.cert.pem();
    std::fs::write(dir.join("tls.crt"), &cert_pem).expect("cert");
    std::fs::write(dir.join("tls.key"), certified.signing_key.serialize_pem()).expect("key");
    let cert =
        podsec::webhook::tls::ReloadingCert::load(&dir.join("tls.crt"), &dir.join("tls.key"))
            .expect("loads");
    let limits = ConnectionLimits {
        max_connections: 200,
        handshake_timeout: Duration::from_secs(60),
        ..short()
    };
    let server = Server::start(limits, Some(cert.server_config().expect("TLS config"))).await;
    let client = Arc::new(crate::webhook::tls::Client::new(&cert_pem, server.addr));
    let full = {
        let client = Arc::clone(&client);
        tokio::spawn(async move {
            for _ in 0..200 {
                let _ = client.handshake_only().await;
            }
        })
    };
    let mut stalled = Vec::with_capacity(3_000);
    for i in 0..3_000u32 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        // A TLS handshake record's header, announcing a body that never comes.
        let _ = stream.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).await;
        stalled.push(stream);
        if i % 1_000 == 500 {
            let (status, body) = client
                .post(
                    "/validate",
                    "application/json",
                    review_bytes(&format!("during{i}")),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    }
    full.await.expect("full handshakes");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = server.metrics();
    let open = counter(&metrics, "podsec_connections_open");
    assert!(open <= 200, "{open} connections open past the limit of 200");
    assert!(
        counter(&metrics, "podsec_connections_evicted_total") >= 2_800,
        "{metrics}"
    );
    assert_eq!(server.timeouts("handshake"), 0, "{metrics}");
    for i in 0..5 {
        let (status, body) = client
            .post(
                "/validate",
                "application/json",
                review_bytes(&format!("after{i}")),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    drop(stalled);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a client saw of one request during the shutdown test.
#[derive(Debug, PartialEq)]
enum Seen {
    Answered,
    /// The connection ended before any byte of an answer: the server never took the request.
    Closed,
    /// Some bytes of an answer, then the end: what must never happen.
    Cut,
}

/// One request on `stream`: what came back.
async fn exchange(stream: &mut TcpStream, uid: &str) -> Seen {
    if stream.write_all(&request_text(uid, true)).await.is_err() {
        return Seen::Closed;
    }
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let outcome = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if data.len() >= end + 4 + length {
                    return Seen::Answered;
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) if data.is_empty() => return Seen::Closed,
                Ok(0) | Err(_) => return Seen::Cut,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    outcome.unwrap_or(Seen::Cut)
}

/// Shutdown (what SIGTERM starts) in the middle of load from four keep-alive clients:
/// every request the server answered reached its client whole, none was cut off, and
/// connections made afterwards are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_under_load_cuts_no_answer() {
    let server = Server::start(short(), None).await;
    let addr = server.addr;
    let client = |id: usize| async move {
        let (mut answered, mut cut) = (0u64, 0u64);
        let started = Instant::now();
        'connections: while started.elapsed() < Duration::from_secs(3) {
            let Ok(mut stream) = TcpStream::connect(addr).await else {
                break;
            };
            for n in 0..10_000 {
                match exchange(&mut stream, &format!("c{id}-{n}")).await {
                    Seen::Answered => answered += 1,
                    Seen::Closed => continue 'connections,
                    Seen::Cut => {
                        cut += 1;
                        continue 'connections;
                    }
                }
                if started.elapsed() > Duration::from_secs(3) {
                    break 'connections;
                }
            }
        }
        (answered, cut)
    };
    let clients: Vec<_> = (0..4).map(|id| tokio::spawn(client(id))).collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let state = Arc::clone(&server.state);
    server.stop().await;
    let stopped_at = Instant::now();
    let (mut answered, mut cut) = (0, 0);
    for client in clients {
        let (a, c) = client.await.expect("client");
        answered += a;
        cut += c;
    }
    assert!(answered > 20, "only {answered} answers before the shutdown");
    assert_eq!(cut, 0, "answers cut off mid-way");
    let metrics = state.metrics.render();
    let served: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("podsec_requests_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(
        served, answered,
        "every answer the server gave arrived whole"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "a connection after the shutdown ({:?} ago) is refused",
        stopped_at.elapsed()
    );
}

/// The certificate files replaced while TLS clients keep connecting, the key a moment
/// after the certificate: no request fails, and new connections get the new certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_replaced_under_load_fails_no_request() {
    let old =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let new =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let dir = std::env::temp_dir().join(format!("podsec-rotate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert_path, key_path) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&cert_path, old.cert.pem()).expect("cert");
    std::fs::write(&key_path, old.signing_key.serialize_pem()).expect("key");
    let cert = podsec::webhook::tls::ReloadingCert::load(&cert_path, &key_path).expect("loads");
    tokio::spawn(Arc::clone(&cert).watch(Duration::from_millis(20)));
    let server = Server::start(short(), Some(cert.server_config().expect("TLS config"))).await;
    // The client trusts both certificates, as it would trust the CA that signs both.
    let both = format!("{}{}", old.cert.pem(), new.cert.pem());
    let client = crate::webhook::tls::Client::new(&both, server.addr);
    // Not atomic, as a volume update may not be: the certificate, then the key, while
    // the client keeps connecting.
    let rotation = {
        let (cert_path, key_path) = (cert_path.clone(), key_path.clone());
        let (cert_pem, key_pem) = (new.cert.pem(), new.signing_key.serialize_pem());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            std::fs::write(&cert_path, cert_pem).expect("cert");
            // Long enough for several connections to fall between the two writes.
            tokio::time::sleep(Duration::from_millis(500)).await;
            std::fs::write(&key_path, key_pem).expect("key");
        })
    };
    let mut failures = Vec::new();
    for i in 0..60 {
        match client
            .try_post(
                "/validate",
                "application/json",
                review_bytes(&format!("r{i}")),
            )
            .await
        {
            Some((200, _)) => {}
            other => failures.push((i, other)),
        }
        tokio::time::sleep(Duration::from_millis(4)).await;
    }
    rotation.await.expect("rotated");
    assert!(failures.is_empty(), "{failures:?}");
    // A client that trusts only the new certificate connects: it is the one served.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let only_new = crate::webhook::tls::Client::new(&new.cert.pem(), server.addr);
    let (status, _) = only_new
        .post("/validate", "application/json", review_bytes("new"))
        .await;
    assert_eq!(status, 200);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
