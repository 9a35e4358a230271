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

mod support;

use std::io::Write as _;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{binary, env, free_port, percentile, read_answer, request, sample, start_server};

fn main() {
    let seconds = env("SOAK_SECONDS", 600);
    let rate = env("SOAK_RATE", 400).max(1);
    let clients = env("SOAK_CLIENTS", 8).max(1);
    let addr = free_port();
    let mut server = start_server(&binary(), addr, &["--insecure"]);
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
                        && read_answer(connection, &mut buf)
                            .is_some_and(|(status, _)| status == 200);
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
