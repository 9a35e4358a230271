//! `make flood`: `podsec serve` (the release binary, on loopback) against connection floods,
//! with its resident memory measured and a well-behaved client timed throughout:
//!
//! 1. 10,000 idle connections held at once (one in ten made a request first, the rest never
//!    sent a byte), with room for all of them: memory per idle connection.
//! 2. The same 10,000 against the default `--max-connections` (4,096): newcomers take the
//!    places of connections waiting for a request, memory stays bounded.
//! 3. TLS: 10,000 handshakes that stall after the first bytes of a ClientHello, beside a
//!    client making full handshakes as fast as it can.
//!
//! Writes `target/flood.md`; fails if a well-behaved request is not answered or the server
//! holds more connections than its limit.
//!
//! `cargo run --release -p podsec --example flood` (`FLOOD_CONNECTIONS`, default 10000)

mod support;

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{
    binary, env, exchange, free_port, metric, metric_over, percentile, sample, start_server,
};

/// What one phase measured.
struct Phase {
    name: String,
    rss_before: u64,
    rss_held: u64,
    rss_after: u64,
    fds_held: usize,
    open_held: u64,
    evicted: u64,
    refused: u64,
    answered: usize,
    asked: usize,
    p50: u64,
    p99: u64,
    note: String,
}

/// A well-behaved client: `count` requests, each on a fresh connection made by `connect`;
/// (answered, latencies in µs).
fn well_behaved<S: std::io::Read + std::io::Write>(
    count: usize,
    mut connect: impl FnMut() -> Option<S>,
) -> (usize, Vec<u64>) {
    let mut latencies = Vec::with_capacity(count);
    let mut answered = 0;
    for n in 0..count {
        let started = Instant::now();
        if connect().is_some_and(|mut stream| exchange(&mut stream, n as u64)) {
            answered += 1;
            latencies.push(started.elapsed().as_micros() as u64);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (answered, latencies)
}

fn stop(mut server: Child) {
    let _ = server.kill();
    let _ = server.wait();
}

/// Phases 1 and 2: `connections` plain connections held idle against `args`.
fn idle_phase(name: &str, connections: u64, args: &[&str], note: &str) -> Phase {
    let addr = free_port();
    let server = start_server(&binary(), addr, args);
    let pid = server.id();
    let mut warm = TcpStream::connect(addr).expect("connect");
    for n in 0..200 {
        assert!(exchange(&mut warm, n), "warm-up request {n}");
    }
    drop(warm);
    std::thread::sleep(Duration::from_millis(300));
    let (rss_before, _) = sample(pid);
    // The well-behaved client runs throughout the flood, on its own thread.
    let flooding = Arc::new(AtomicBool::new(true));
    let client = {
        let flooding = Arc::clone(&flooding);
        std::thread::spawn(move || {
            let mut total = (0, 0, Vec::new());
            while flooding.load(Ordering::Relaxed) {
                let (answered, latencies) = well_behaved(20, || TcpStream::connect(addr).ok());
                total.0 += 20;
                total.1 += answered;
                total.2.extend(latencies);
            }
            total
        })
    };
    let mut held = Vec::with_capacity(connections as usize);
    for i in 0..connections {
        let Ok(mut stream) = TcpStream::connect(addr) else {
            continue;
        };
        if i % 10 == 0 {
            let _ = exchange(&mut stream, i);
        }
        held.push(stream);
    }
    std::thread::sleep(Duration::from_secs(2));
    let (rss_held, fds_held) = sample(pid);
    let open_held = metric(addr, "podsec_connections_open").unwrap_or(0);
    flooding.store(false, Ordering::Relaxed);
    let (asked, answered, mut latencies) = client.join().expect("client");
    latencies.sort_unstable();
    drop(held);
    std::thread::sleep(Duration::from_secs(2));
    let (rss_after, _) = sample(pid);
    let phase = Phase {
        name: name.to_owned(),
        rss_before,
        rss_held,
        rss_after,
        fds_held,
        open_held,
        evicted: metric(addr, "podsec_connections_evicted_total").unwrap_or(0),
        refused: metric(addr, "podsec_connections_refused_total").unwrap_or(0),
        answered,
        asked,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        note: note.to_owned(),
    };
    stop(server);
    phase
}

/// A blocking TLS client that trusts `ca_pem`, with full handshakes (no resumption).
fn tls_config(ca_pem: &str) -> Arc<rustls::ClientConfig> {
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
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn tls_connect(config: &Arc<rustls::ClientConfig>, addr: SocketAddr) -> Option<TlsStream> {
    let name = rustls::pki_types::ServerName::try_from("localhost").ok()?;
    let connection = rustls::ClientConnection::new(Arc::clone(config), name).ok()?;
    let tcp = TcpStream::connect(addr).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).ok()?;
    }
    Some(stream)
}

/// Phase 3: a TLS handshake flood against the default limits.
fn handshake_phase(connections: u64) -> Phase {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let dir = std::env::temp_dir().join(format!("podsec-flood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&cert, certified.cert.pem()).expect("cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("key");
    let addr = free_port();
    let (cert_arg, key_arg) = (cert.display().to_string(), key.display().to_string());
    let server = start_server(
        &binary(),
        addr,
        &["--tls-cert", &cert_arg, "--tls-key", &key_arg],
    );
    let pid = server.id();
    let config = tls_config(&certified.cert.pem());
    for n in 0..50 {
        let mut stream = tls_connect(&config, addr).expect("TLS");
        assert!(exchange(&mut stream, n), "warm-up request {n}");
    }
    std::thread::sleep(Duration::from_millis(300));
    let (rss_before, _) = sample(pid);
    let flooding = Arc::new(AtomicBool::new(true));
    let handshakes = Arc::new(AtomicU64::new(0));
    let full = {
        let (flooding, handshakes, config) = (
            Arc::clone(&flooding),
            Arc::clone(&handshakes),
            Arc::clone(&config),
        );
        std::thread::spawn(move || {
            while flooding.load(Ordering::Relaxed) {
                if tls_connect(&config, addr).is_some() {
                    handshakes.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let client = {
        let (flooding, config) = (Arc::clone(&flooding), Arc::clone(&config));
        std::thread::spawn(move || {
            let mut total = (0, 0, Vec::new());
            while flooding.load(Ordering::Relaxed) {
                let (answered, latencies) = well_behaved(20, || tls_connect(&config, addr));
                total.0 += 20;
                total.1 += answered;
                total.2.extend(latencies);
            }
            total
        })
    };
    let started = Instant::now();
    let mut stalled = Vec::with_capacity(connections as usize);
    for _ in 0..connections {
        let Ok(mut stream) = TcpStream::connect(addr) else {
            continue;
        };
        // A handshake record's header announcing a ClientHello that never comes.
        let _ = stream.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]);
        stalled.push(stream);
    }
    std::thread::sleep(Duration::from_secs(2));
    let (rss_held, fds_held) = sample(pid);
    flooding.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let (asked, answered, mut latencies) = client.join().expect("client");
    let _ = full.join();
    latencies.sort_unstable();
    let metrics = |series| tls_connect(&config, addr).and_then(|s| metric_over(s, series));
    let open_held = metrics("podsec_connections_open").unwrap_or(0);
    let evicted = metrics("podsec_connections_evicted_total").unwrap_or(0);
    let refused = metrics("podsec_connections_refused_total").unwrap_or(0);
    drop(stalled);
    std::thread::sleep(Duration::from_secs(2));
    let (rss_after, _) = sample(pid);
    let full_handshakes = handshakes.load(Ordering::Relaxed);
    let phase = Phase {
        name: format!("{connections} stalled TLS handshakes, default limits"),
        rss_before,
        rss_held,
        rss_after,
        fds_held,
        open_held,
        evicted,
        refused,
        answered,
        asked,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        note: format!(
            "{full_handshakes} full handshakes completed beside the flood in {:.1} s ({:.0}/s); connections open read after the flood",
            elapsed.as_secs_f64(),
            full_handshakes as f64 / elapsed.as_secs_f64()
        ),
    };
    stop(server);
    let _ = std::fs::remove_dir_all(&dir);
    phase
}

fn main() {
    podsec::webhook::limits::raise_open_files();
    let connections = env("FLOOD_CONNECTIONS", 10_000);
    let long = "300000";
    let phases = vec![
        idle_phase(
            &format!("{connections} idle connections, room for all"),
            connections,
            &[
                "--insecure",
                "--max-connections",
                "16000",
                "--header-timeout",
                long,
                "--idle-timeout",
                long,
            ],
            "--max-connections 16000, head and idle timeouts 300 s",
        ),
        idle_phase(
            &format!("{connections} idle connections, default limits"),
            connections,
            &["--insecure"],
            "--max-connections 4096 (default)",
        ),
        handshake_phase(connections),
    ];
    let mut report = format!(
        "# podsec serve under connection floods\n\n`FLOOD_CONNECTIONS={connections} cargo run --release -p podsec --example flood` (`make flood`): \
         the release `podsec serve --level restricted` on loopback; one in ten idle connections made a request first; \
         a well-behaved client makes a request on a fresh connection every 5 ms throughout.\n\n\
         | phase | RSS before (KiB) | RSS while held (KiB) | per held connection (bytes) | RSS after release (KiB) | open files | connections open | evicted | refused | well-behaved answered | p50 (µs) | p99 (µs) | |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
    );
    let mut failed = false;
    for p in &phases {
        let per = (p.rss_held.saturating_sub(p.rss_before) * 1024)
            .checked_div(p.open_held.max(1))
            .unwrap_or(0);
        report.push_str(&format!(
            "| {} | {} | {} | {per} | {} | {} | {} | {} | {} | {}/{} | {} | {} | {} |\n",
            p.name,
            p.rss_before,
            p.rss_held,
            p.rss_after,
            p.fds_held,
            p.open_held,
            p.evicted,
            p.refused,
            p.answered,
            p.asked,
            p.p50,
            p.p99,
            p.note
        ));
        failed |= p.answered == 0 || p.answered < p.asked;
    }
    failed |= phases.get(1).is_some_and(|p| p.open_held > 4096);
    report.push_str(&format!(
        "\nVerdict: {}.\n",
        if failed { "FAILED" } else { "passed" }
    ));
    std::fs::create_dir_all("target").expect("target");
    std::fs::File::create("target/flood.md")
        .and_then(|mut f| f.write_all(report.as_bytes()))
        .expect("target/flood.md");
    println!("{report}");
    if failed {
        std::process::exit(1);
    }
}
