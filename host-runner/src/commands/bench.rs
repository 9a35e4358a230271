//! `podsec bench`: time one module's evaluations, as `kwctl bench` does.

use super::{exit, PolicyArgs};
use crate::benchdata::{self, PodSize};
use anyhow::{anyhow, Context as _, Result};
use clap::{Args, ValueEnum};
use policy_core::manifest::validation_request;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Time a policy module's evaluations: min, median, p99 and mean over many runs after a
/// warm-up, each in a fresh instance (as policy-server runs policies) or in one reused
/// instance. Works with any Kubewarden waPC policy.
#[derive(Debug, Args)]
#[command(after_help = BENCH_EXAMPLES)]
pub struct Bench {
    /// An AdmissionReview, AdmissionRequest or ValidationRequest to evaluate (default: a
    /// built-in pod of --size).
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
    /// The built-in pod to evaluate when no --request is given.
    #[arg(long, value_enum, default_value_t = Size::Typical)]
    pub size: Size,
    /// Timed evaluations.
    #[arg(long, default_value_t = 5000)]
    pub iterations: usize,
    /// Untimed evaluations first.
    #[arg(long, default_value_t = 500)]
    pub warmup: usize,
    /// Reuse one instance instead of a fresh one per evaluation.
    #[arg(long)]
    pub reuse_instance: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// The module, its settings and the sandbox limits.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// The built-in pod sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Size {
    /// One container, restricted's fields set.
    Small,
    /// Two containers, ~3 KB.
    Typical,
    /// Twenty containers, ~60 KB.
    Large,
    /// One pod failing most checks (privileged, host namespaces, hostPath, …), ~1.2 KB.
    Violating,
}

impl From<Size> for PodSize {
    fn from(size: Size) -> PodSize {
        match size {
            Size::Small => PodSize::Small,
            Size::Typical => PodSize::Typical,
            Size::Large => PodSize::Large,
            Size::Violating => PodSize::Violating,
        }
    }
}

/// Timing figures, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// What was evaluated.
    pub input: String,
    /// Request size in bytes.
    pub request_bytes: usize,
    /// `fresh` or `reused` instance.
    pub instance: &'static str,
    /// Timed evaluations.
    pub iterations: usize,
    /// Fastest.
    pub min_us: f64,
    /// Median.
    pub median_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Mean.
    pub mean_us: f64,
}

/// Summarises samples into a [`Timing`].
pub fn timing(
    input: String,
    request_bytes: usize,
    instance: &'static str,
    mut samples: Vec<Duration>,
) -> Timing {
    samples.sort_unstable();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(index).copied().map_or(0.0, micros)
    };
    let mean = samples.iter().map(|d| micros(*d)).sum::<f64>() / samples.len().max(1) as f64;
    Timing {
        input,
        request_bytes,
        instance,
        iterations: samples.len(),
        min_us: at(0.0),
        median_us: at(0.5),
        p99_us: at(0.99),
        mean_us: mean,
    }
}

/// `podsec bench --help`'s examples, one per line.
const BENCH_EXAMPLES: &str = "\
Examples:
  podsec bench
  podsec bench --size large --level restricted
  podsec bench --policy other.wasm --request review.json --json";

impl Bench {
    /// Runs the subcommand; returns the exit status.
    pub fn execute(self) -> Result<u8> {
        let (module, settings) = self.policy.load()?;
        let (input, payload) = match &self.request {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let document = crate::settings::parse(&text)?;
                let request = super::run::admission_request(document)?;
                (
                    path.display().to_string(),
                    serde_json::to_vec(&validation_request(request, &settings))?,
                )
            }
            None => {
                let size = PodSize::from(self.size);
                let mut request: serde_json::Value =
                    serde_json::from_slice(&benchdata::request(size, "baseline"))?;
                request["settings"] = settings.clone();
                (
                    format!("built-in {} pod", size.name()),
                    serde_json::to_vec(&request)?,
                )
            }
        };
        let policy = module.policy();
        let mut samples = Vec::with_capacity(self.iterations);
        let instance = if self.reuse_instance {
            "reused"
        } else {
            "fresh"
        };
        if self.reuse_instance {
            let mut session = policy.session().map_err(|e| anyhow!("{e}"))?;
            for i in 0..self.warmup.saturating_add(self.iterations) {
                let started = Instant::now();
                session
                    .call("validate", &payload)
                    .map_err(|e| anyhow!("{e}"))?;
                if i >= self.warmup {
                    samples.push(started.elapsed());
                }
            }
        } else {
            for i in 0..self.warmup.saturating_add(self.iterations) {
                let started = Instant::now();
                policy
                    .call("validate", &payload)
                    .map_err(|e| anyhow!("{e}"))?;
                if i >= self.warmup {
                    samples.push(started.elapsed());
                }
            }
        }
        let result = timing(input, payload.len(), instance, samples);
        if self.json {
            println!("{}", serde_json::to_string_pretty(&result)?);
        } else {
            println!(
                "podsec bench: validate, {} ({} bytes), {} instance per evaluation",
                result.input, result.request_bytes, result.instance
            );
            println!(
                "  {} evaluations after {} warm-up",
                result.iterations, self.warmup
            );
            println!(
                "  min {:.1} µs   median {:.1} µs   p99 {:.1} µs   mean {:.1} µs   ({:.0} evaluations/s on one core)",
                result.min_us,
                result.median_us,
                result.p99_us,
                result.mean_us,
                1e6 / result.mean_us.max(f64::MIN_POSITIVE)
            );
        }
        Ok(exit::ALLOWED)
    }
}
