//! Prometheus metrics for the webhook, in the text exposition format
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>).

use policy_core::workload::ResourceKind;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the evaluation latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0,
];

/// The webhook's counters, gauges and histogram.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String), u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    in_flight: AtomicI64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_nanos: AtomicU64,
    /// Connections closed by a timeout, by kind, in [`TIMEOUT_KINDS`]' order.
    timeouts: [AtomicU64; TIMEOUT_KINDS.len()],
    connections_refused: AtomicU64,
    connections_evicted: AtomicU64,
    connections_open: AtomicI64,
}

/// The kinds of timeout the connection limits count (`webhook::limits`).
pub const TIMEOUT_KINDS: [&str; 4] = ["handshake", "header", "body", "idle"];

/// The `kind` label for a request's kind: the kind itself when podsec evaluates it, else
/// `other`.
fn kind_label(kind: &str) -> &'static str {
    ResourceKind::ALL
        .iter()
        .map(|(known, _)| known.as_str())
        .find(|known| *known == kind)
        .unwrap_or("other")
}

impl Metrics {
    /// Counts a decided request by verdict (`allowed`, `mutated`, `denied`, `error`) and kind. The
    /// kind comes from the request, so only the kinds podsec evaluates are labels of their
    /// own; any other is `other`, or whoever sends requests could grow the series without
    /// bound.
    pub fn request(&self, verdict: &str, kind: &str) {
        let kind = kind_label(kind);
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((verdict.to_owned(), kind.to_owned()))
                .or_default() += 1;
        }
    }

    /// Counts an error by cause.
    pub fn error(&self, cause: &str) {
        if let Ok(mut map) = self.errors.lock() {
            *map.entry(cause.to_owned()).or_default() += 1;
        }
    }

    /// Records one evaluation's latency.
    pub fn latency(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.latency_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Marks a request in flight until the guard drops.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Counts a connection a timeout closed: `handshake`, `header`, `body` or `idle`.
    pub fn timeout(&self, kind: &str) {
        if let Some(slot) = TIMEOUT_KINDS
            .iter()
            .position(|k| *k == kind)
            .and_then(|i| self.timeouts.get(i))
        {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a connection closed because `max_connections` were open.
    pub fn refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection closed, while it waited for a request, to make room for a new one
    /// at `max_connections`.
    pub fn evicted(&self) {
        self.connections_evicted.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks a connection open until the guard drops.
    pub fn connection(self: &std::sync::Arc<Self>) -> OpenConnection {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(std::sync::Arc::clone(self))
    }

    /// Connections open now.
    pub fn open_connections(&self) -> i64 {
        self.connections_open.load(Ordering::Relaxed)
    }

    /// Requests being handled now.
    pub fn current_in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP podsec_requests_total Admission requests answered, by verdict and kind.\n",
        );
        out.push_str("# TYPE podsec_requests_total counter\n");
        if let Ok(map) = self.requests.lock() {
            for ((verdict, kind), count) in map.iter() {
                let _ = writeln!(
                    out,
                    "podsec_requests_total{{verdict=\"{}\",kind=\"{}\"}} {count}",
                    escape(verdict),
                    escape(kind)
                );
            }
        }
        out.push_str(
            "# HELP podsec_errors_total Requests that could not be evaluated, by cause.\n",
        );
        out.push_str("# TYPE podsec_errors_total counter\n");
        if let Ok(map) = self.errors.lock() {
            for (cause, count) in map.iter() {
                let _ = writeln!(
                    out,
                    "podsec_errors_total{{cause=\"{}\"}} {count}",
                    escape(cause)
                );
            }
        }
        out.push_str("# HELP podsec_in_flight_requests Requests being handled.\n");
        out.push_str("# TYPE podsec_in_flight_requests gauge\n");
        let _ = writeln!(
            out,
            "podsec_in_flight_requests {}",
            self.current_in_flight()
        );
        out.push_str("# HELP podsec_evaluation_duration_seconds Time to evaluate one request in the sandbox.\n");
        out.push_str("# TYPE podsec_evaluation_duration_seconds histogram\n");
        for (bound, bucket) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "podsec_evaluation_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "podsec_evaluation_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = self.latency_sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "podsec_evaluation_duration_seconds_sum {sum}");
        let _ = writeln!(out, "podsec_evaluation_duration_seconds_count {count}");
        out.push_str("# HELP podsec_connections_open Client connections open.\n");
        out.push_str("# TYPE podsec_connections_open gauge\n");
        let _ = writeln!(out, "podsec_connections_open {}", self.open_connections());
        out.push_str("# HELP podsec_connections_refused_total Connections closed on arrival because --max-connections were open, every one of them in a request.\n");
        out.push_str("# TYPE podsec_connections_refused_total counter\n");
        let _ = writeln!(
            out,
            "podsec_connections_refused_total {}",
            self.connections_refused.load(Ordering::Relaxed)
        );
        out.push_str("# HELP podsec_connections_evicted_total Connections waiting for a request that were closed to make room for a new one at --max-connections.\n");
        out.push_str("# TYPE podsec_connections_evicted_total counter\n");
        let _ = writeln!(
            out,
            "podsec_connections_evicted_total {}",
            self.connections_evicted.load(Ordering::Relaxed)
        );
        out.push_str("# HELP podsec_connection_timeouts_total Connections closed by a timeout, by kind (handshake, header, body, idle).\n");
        out.push_str("# TYPE podsec_connection_timeouts_total counter\n");
        for (kind, count) in TIMEOUT_KINDS.iter().zip(&self.timeouts) {
            let _ = writeln!(
                out,
                "podsec_connection_timeouts_total{{kind=\"{kind}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// Decrements the open-connections gauge when dropped.
pub struct OpenConnection(std::sync::Arc<Metrics>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Decrements the in-flight gauge when dropped.
pub struct InFlight<'m>(&'m Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let metrics = Metrics::default();
        metrics.request("denied", "Pod");
        metrics.request("denied", "Pod");
        for i in 0..100 {
            metrics.request("allowed", &format!("Made{i}Up"));
        }
        metrics.error("timeout");
        metrics.latency(Duration::from_micros(30));
        metrics.latency(Duration::from_millis(3));
        let guard = metrics.in_flight();
        let text = metrics.render();
        drop(guard);
        assert!(text.contains("podsec_requests_total{verdict=\"denied\",kind=\"Pod\"} 2"));
        // Kinds podsec does not evaluate share one series, whatever the requests say.
        assert!(text.contains("podsec_requests_total{verdict=\"allowed\",kind=\"other\"} 100"));
        assert_eq!(text.matches("podsec_requests_total{").count(), 2, "{text}");
        assert!(text.contains("podsec_errors_total{cause=\"timeout\"} 1"));
        assert!(text.contains("podsec_in_flight_requests 1"));
        assert!(text.contains("podsec_evaluation_duration_seconds_bucket{le=\"0.00005\"} 1"));
        assert!(text.contains("podsec_evaluation_duration_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("podsec_evaluation_duration_seconds_count 2"));
        assert_eq!(metrics.current_in_flight(), 0);
        let metrics = std::sync::Arc::new(metrics);
        metrics.timeout("header");
        metrics.timeout("header");
        metrics.timeout("nonsense");
        metrics.refused();
        metrics.evicted();
        let open = metrics.connection();
        let text = metrics.render();
        assert!(text.contains("podsec_connection_timeouts_total{kind=\"header\"} 2"));
        assert!(text.contains("podsec_connection_timeouts_total{kind=\"idle\"} 0"));
        assert!(text.contains("podsec_connections_refused_total 1"));
        assert!(text.contains("podsec_connections_evicted_total 1"));
        assert!(text.contains("podsec_connections_open 1"));
        drop(open);
        assert_eq!(metrics.open_connections(), 0);
    }
}
