//! What `make soak` and `make flood` share: the release `podsec serve` as a child process on
//! loopback, its resident memory and open files from /proc, and plain HTTP/1.1 exchanges.
#![allow(dead_code, reason = "each example uses part of this")]

use serde_json::json;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An environment variable as a number, else `default`.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The podsec binary (`PODSEC_BIN`, default the release build).
pub fn binary() -> String {
    std::env::var("PODSEC_BIN").unwrap_or_else(|_| "target/release/podsec".to_owned())
}

/// A free loopback port (bound, then released for the server).
pub fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// `podsec serve --listen addr --level restricted` plus `args`, once it accepts connections.
pub fn start_server(binary: &str, addr: SocketAddr, args: &[&str]) -> Child {
    let child = Command::new(binary)
        .args(["serve", "--log-level", "warn", "--listen"])
        .arg(addr.to_string())
        .args(["--level", "restricted"])
        .args(args)
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
pub fn sample(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

/// A keep-alive POST of an AdmissionReview to /validate: a compliant pod for even `n`, a
/// privileged one for odd `n`.
pub fn request(n: u64) -> Vec<u8> {
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

/// One answer's status and body, read from a keep-alive connection.
pub fn read_answer(stream: &mut impl std::io::Read, buf: &mut Vec<u8>) -> Option<(u16, String)> {
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
                let status = head.split(' ').nth(1)?.parse().ok()?;
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned();
                return Some((status, body));
            }
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One request on `stream`; whether it was answered 200.
pub fn exchange(stream: &mut (impl std::io::Read + std::io::Write), n: u64) -> bool {
    let mut buf = Vec::new();
    stream.write_all(&request(n)).is_ok()
        && read_answer(stream, &mut buf).is_some_and(|(status, _)| status == 200)
}

/// A counter or gauge from the server's /metrics, over plain HTTP.
pub fn metric(addr: SocketAddr, series: &str) -> Option<u64> {
    metric_over(TcpStream::connect(addr).ok()?, series)
}

/// A counter or gauge from the server's /metrics, over `stream`.
pub fn metric_over(mut stream: impl std::io::Read + std::io::Write, series: &str) -> Option<u64> {
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse().ok())
}

/// The value at `p` (0–1) of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}
