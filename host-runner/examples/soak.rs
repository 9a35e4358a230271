//! `make soak`: `podsec serve` (the release binary, plain HTTP on loopback) under a steady
//! offered rate for a while, with its resident memory, open file descriptors and the
//! answers' latency percentiles sampled every 10 s into `target/soak.md`. Fails when a
//! request fails or when memory grows after the warm-up (the first minute, or the first
//! sixth of a shorter run).
//!
//! `SOAK_SECONDS` (default 600), `SOAK_RATE` requests per second (default 400),
//! `SOAK_CLIENTS` keep-alive connections (default 8), `PODSEC_BIN` (default
//! `target/release/podsec`).
//!
//! `cargo run --release -p podsec --example soak`

use serde_json::json;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A free loopback port (bound, then released for the server).
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

fn start_server(binary: &str, addr: SocketAddr) -> Child {
    let child = Command::new(binary)
        .args(["serve", "--insecure", "--log-level", "warn", "--listen"])
        .arg(addr.to_string())
        .args(["--level", "restricted"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e} (make build first)"));
    let ready = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            ready.elapsed() < Duration::from_secs(20),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// The server's resident memory (KiB) and open file descriptors, from /proc.
fn sample(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

/// Requests alternate between a compliant pod and a denied one.
fn request(n: u64) -> Vec<u8> {
    let privileged = n % 2 == 1;
    let object = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("pod-{n}"), "namespace": "soak"},
        "spec": {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {
                "allowPrivilegeEscalation": privileged, "privileged": privileged,
                "capabilities": {"drop": ["ALL"]}}}]}});
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": format!("u{n}"), "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "soak", "operation": "CREATE", "userInfo": {"username": "soak"},
            "object": object}});
    let body = review.to_string();
    let mut text = format!(
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    text.extend(body.into_bytes());
    text
}

/// One answer's status, read from a keep-alive connection.
fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<u16> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return head.split(' ').nth(1)?.parse().ok();
            }
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    let seconds = env("SOAK_SECONDS", 600);
    let rate = env("SOAK_RATE", 400).max(1);
    let clients = env("SOAK_CLIENTS", 8).max(1);
    let binary = std::env::var("PODSEC_BIN").unwrap_or_else(|_| "target/release/podsec".to_owned());
    let addr = free_port();
    let mut server = start_server(&binary, addr);
    let pid = server.id();

    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
    let per_client = Duration::from_secs_f64(clients as f64 / rate as f64);
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let (stop, errors, sent, latencies) = (
                Arc::clone(&stop),
                Arc::clone(&errors),
                Arc::clone(&sent),
                Arc::clone(&latencies),
            );
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut stream: Option<TcpStream> = None;
                let mut next = Instant::now();
                let mut n = c;
                while !stop.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    next += per_client;
                    let connection = match &mut stream {
                        Some(s) => s,
                        None => match TcpStream::connect(addr) {
                            Ok(s) => stream.insert(s),
                            Err(_) => {
                                errors.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                        },
                    };
                    let started = Instant::now();
                    let ok = connection.write_all(&request(n)).is_ok()
                        && read_answer(connection, &mut buf) == Some(200);
                    n += clients;
                    sent.fetch_add(1, Ordering::Relaxed);
                    if ok {
                        let micros = started.elapsed().as_micros() as u64;
                        if let Ok(mut all) = latencies.lock() {
                            all.push(micros);
                        }
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        stream = None;
                    }
                }
            })
        })
        .collect();

    let mut rows = Vec::new();
    let started = Instant::now();
    let mut last_sent = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(10).min(Duration::from_secs(seconds)));
        let (rss, fds) = sample(pid);
        let mut window = std::mem::take(&mut *latencies.lock().expect("latencies"));
        window.sort_unstable();
        let total = sent.load(Ordering::Relaxed);
        rows.push((
            started.elapsed().as_secs(),
            rss,
            fds,
            total - last_sent,
            percentile(&window, 0.5),
            percentile(&window, 0.99),
            errors.load(Ordering::Relaxed),
        ));
        last_sent = total;
        let row = rows.last().expect("a row");
        eprintln!(
            "{:>5} s  rss {:>7} KiB  fds {:>4}  requests {:>6}  p50 {:>5} µs  p99 {:>6} µs  errors {}",
            row.0, row.1, row.2, row.3, row.4, row.5, row.6
        );
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    let _ = server.kill();
    let _ = server.wait();

    let warm = (seconds / 6).clamp(10, 60);
    let warm_rss = rows.iter().find(|r| r.0 >= warm).map_or(0, |r| r.1);
    let end_rss = rows.last().map_or(0, |r| r.1);
    let max_after_warm = rows
        .iter()
        .filter(|r| r.0 >= warm)
        .map(|r| r.1)
        .max()
        .unwrap_or(0);
    let errors = errors.load(Ordering::Relaxed);
    // Growth allowed after the warm-up: 10% and 4 MiB of the allocator's slack.
    let bound = warm_rss + warm_rss / 10 + 4096;
    let grew = max_after_warm > bound;

    let mut report = format!(
        "# podsec serve soak\n\n`SOAK_SECONDS={seconds} SOAK_RATE={rate} SOAK_CLIENTS={clients} cargo run --release -p podsec --example soak` \
         (`make soak`): `podsec serve --insecure --level restricted` on loopback, {clients} keep-alive clients offering {rate} requests/s \
         (compliant and privileged pods in turn), sampled every 10 s.\n\n\
         | s | RSS (KiB) | open fds | requests in the window | p50 (µs) | p99 (µs) | errors so far |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    for (s, rss, fds, n, p50, p99, e) in &rows {
        report.push_str(&format!(
            "| {s} | {rss} | {fds} | {n} | {p50} | {p99} | {e} |\n"
        ));
    }
    report.push_str(&format!(
        "\nRSS after the {warm} s warm-up: {warm_rss} KiB; at most {max_after_warm} KiB after it (bound {bound} KiB); at the end: {end_rss} KiB. \
         Requests: {} sent, {errors} failed. Verdict: {}.\n",
        sent.load(Ordering::Relaxed),
        if grew || errors > 0 { "FAILED" } else { "passed" }
    ));
    std::fs::create_dir_all("target").expect("target");
    std::fs::File::create("target/soak.md")
        .and_then(|mut f| f.write_all(report.as_bytes()))
        .expect("target/soak.md");
    println!("{report}");
    if grew || errors > 0 {
        std::process::exit(1);
    }
}
