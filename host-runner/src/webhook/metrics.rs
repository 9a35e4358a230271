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
}

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
        out
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
    }
}
