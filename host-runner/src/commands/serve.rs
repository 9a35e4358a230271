//! `podsec serve`: run the policy as a ValidatingAdmissionWebhook.

use super::PolicyArgs;
use crate::webhook::cluster::ClusterCache;
use crate::webhook::limits::ConnectionLimits;
use crate::webhook::log::{self, log, Level};
use crate::webhook::tls::ReloadingCert;
use crate::webhook::{serve, AppState, FailurePolicy, WebhookConfig};
use anyhow::{bail, Context as _, Result};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Serve the policy as a Kubernetes ValidatingAdmissionWebhook (and MutatingAdmissionWebhook).
///
/// `POST /validate` takes and answers AdmissionReview v1; `POST /mutate` too, and with
/// `mutate: true` in the settings answers a pod the fixes make pass with a JSON Patch
/// (docs/FIX.md); `GET /healthz`, `GET /readyz` and `GET /metrics` (Prometheus) serve
/// operations. The certificate and key are read
/// again when the files change. Requests the policy cannot evaluate in time or within its
/// memory are answered by `--failure-policy` (default: fail, i.e. deny).
///
/// In the namespace-labels mode (`namespaceLabels: true`, or PSA's configuration file as the
/// settings) podsec watches Namespaces and Pods (in-cluster config, or --kubeconfig) and is
/// ready once both are listed.
#[derive(Debug, Args)]
#[command(after_help = SERVE_EXAMPLES)]
pub struct Serve {
    /// The kubeconfig for the namespace-labels mode's watch (default: the in-cluster
    /// service account, else $KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
    /// PEM certificate chain.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (for local testing only: the API server requires HTTPS).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub insecure: bool,
    /// What to answer when the policy cannot evaluate a request.
    #[arg(long, value_enum, default_value_t = FailurePolicy::Fail)]
    pub failure_policy: FailurePolicy,
    /// Evaluations running at once on the worker pool, which takes requests over 256 KiB
    /// and every request to a module given with --policy (default: the number of cores).
    /// Smaller requests to podsec's own module are evaluated on the connection's thread.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Requests that may wait for a worker; more are answered 503 at once.
    #[arg(long, default_value_t = 1024)]
    pub max_pending: usize,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Log level (JSON lines on standard error).
    #[arg(long, value_enum, default_value_t = Level::Info)]
    pub log_level: Level,
    /// Seconds to let in-flight requests finish after SIGTERM.
    #[arg(long, default_value_t = 30)]
    pub drain_seconds: u64,
    /// Client connections open at once. One more takes the place of the connection that has
    /// waited longest for a request; when every one is in a request, it is closed as it
    /// arrives. (The soft limit of open files is raised to the hard one at start.)
    #[arg(long, default_value_t = ConnectionLimits::default().max_connections)]
    pub max_connections: usize,
    /// Milliseconds for a client's TLS handshake.
    #[arg(long, value_name = "MS", default_value_t = millis(ConnectionLimits::default().handshake_timeout))]
    pub handshake_timeout: u64,
    /// Milliseconds for a request's head to arrive (from the connection's start for the
    /// first request, from its first byte for the next ones); a slower client is dropped.
    #[arg(long, value_name = "MS", default_value_t = millis(ConnectionLimits::default().header_timeout))]
    pub header_timeout: u64,
    /// Milliseconds for a request's body to arrive; a slower one is answered 408.
    #[arg(long, value_name = "MS", default_value_t = millis(ConnectionLimits::default().body_timeout))]
    pub body_timeout: u64,
    /// Milliseconds a connection may pass with no byte moving either way (an idle
    /// keep-alive connection, a client that does not read its answer) before it is closed.
    #[arg(long, value_name = "MS", default_value_t = millis(ConnectionLimits::default().idle_timeout))]
    pub idle_timeout: u64,
    /// Requests served on one connection before it is closed (default: no limit).
    #[arg(long, value_name = "N")]
    pub max_requests_per_connection: Option<u64>,
    /// The module, its settings and the sandbox limits.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `podsec serve --help`'s examples, one per line.
const SERVE_EXAMPLES: &str = "\
Examples:
  podsec serve --tls-cert /tls/tls.crt --tls-key /tls/tls.key --settings /config/settings.yaml
  podsec serve --insecure --listen 127.0.0.1:8080 --level restricted
  podsec serve --tls-cert /tls/tls.crt --tls-key /tls/tls.key --settings-json '{\"level\": \"restricted\", \"mutate\": true}'
  podsec serve --insecure --settings admission-config.yaml --kubeconfig ~/.kube/config";

impl Serve {
    /// Runs the server until SIGTERM or Ctrl-C; returns the exit status.
    pub fn execute(self) -> Result<u8> {
        log::set_level(self.log_level);
        let workers = self
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let tls = match (&self.tls_cert, &self.tls_key, self.insecure) {
            (Some(cert), Some(key), false) => Some(ReloadingCert::load(cert, key)?),
            (None, None, true) => None,
            _ => bail!(
                "give --tls-cert and --tls-key (or --insecure for plain HTTP on a test machine)"
            ),
        };
        let mut sandbox = self.policy.sandbox();
        sandbox.max_instances = u32::try_from(workers.saturating_mul(2).max(4)).unwrap_or(u32::MAX);
        let (module, settings) = self.policy.load_in(sandbox)?;
        let config = WebhookConfig {
            failure_policy: self.failure_policy,
            workers,
            max_pending: self.max_pending,
            max_body_bytes: self.max_body_bytes,
            body_timeout: Duration::from_millis(self.body_timeout),
        };
        if self.max_requests_per_connection == Some(0) {
            bail!("--max-requests-per-connection must be at least 1");
        }
        let limits = ConnectionLimits {
            max_connections: self.max_connections.max(1),
            handshake_timeout: Duration::from_millis(self.handshake_timeout),
            header_timeout: Duration::from_millis(self.header_timeout),
            body_timeout: Duration::from_millis(self.body_timeout),
            idle_timeout: Duration::from_millis(self.idle_timeout),
            max_requests_per_connection: self.max_requests_per_connection,
        };
        open_files_for(limits.max_connections);
        let labelled =
            policy_core::Settings::from_value(&settings).is_ok_and(|s| s.namespace_labels);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(async move {
            let (state, cluster) = if labelled {
                let client = kube_client(self.kubeconfig.as_deref()).await?;
                let cluster = ClusterCache::start(client);
                let state = AppState::with_cluster(
                    module,
                    &settings,
                    config,
                    std::sync::Arc::clone(&cluster),
                );
                (state, Some(cluster))
            } else {
                (AppState::new(module, &settings, config), None)
            };
            let listener = tokio::net::TcpListener::bind(self.listen)
                .await
                .with_context(|| format!("cannot listen on {}", self.listen))?;
            let tls_config = match &tls {
                Some(cert) => {
                    tokio::spawn(std::sync::Arc::clone(cert).watch(Duration::from_secs(2)));
                    Some(cert.server_config()?)
                }
                None => None,
            };
            match cluster {
                // Ready once the watch cache holds the first full lists.
                Some(cluster) => {
                    let ready_state = std::sync::Arc::clone(&state);
                    tokio::spawn(async move {
                        cluster.ready().await;
                        ready_state.set_ready(true);
                        log(
                            Level::Info,
                            "the namespace cache is synced",
                            &[("namespaces", cluster.namespace_count().into())],
                        );
                    });
                }
                None => state.set_ready(true),
            }
            log(
                Level::Info,
                "podsec is serving",
                &[
                    ("listen", self.listen.to_string().into()),
                    ("tls", tls_config.is_some().into()),
                    ("workers", workers.into()),
                    (
                        "failure_policy",
                        format!("{:?}", self.failure_policy).to_lowercase().into(),
                    ),
                ],
            );
            let shutdown_state = std::sync::Arc::clone(&state);
            let shutdown = async move {
                shutdown_signal().await;
                shutdown_state.set_ready(false);
            };
            serve(
                listener,
                tls_config,
                state,
                limits,
                shutdown,
                Duration::from_secs(self.drain_seconds),
            )
            .await
        })?;
        Ok(super::exit::ALLOWED)
    }
}

/// A duration in whole milliseconds, for the flags' defaults.
const fn millis(duration: Duration) -> u64 {
    duration.as_secs() * 1000 + duration.subsec_millis() as u64
}

/// A Kubernetes client: from `kubeconfig`, else inferred (in-cluster, then the default
/// kubeconfig).
async fn kube_client(kubeconfig: Option<&std::path::Path>) -> Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .with_context(|| format!("the kubeconfig {} is not usable", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .context("no Kubernetes configuration for the namespace-labels mode (in-cluster, $KUBECONFIG or ~/.kube/config); give --kubeconfig")?,
    };
    kube::Client::try_from(config).context("cannot build the Kubernetes client")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Raises the soft limit of open files to the hard one, and warns when even that is below
/// the connections allowed.
fn open_files_for(max_connections: usize) {
    let soft = crate::webhook::limits::raise_open_files();
    // Room for the listener, the module's files and the cluster watch besides.
    let needed = u64::try_from(max_connections)
        .unwrap_or(u64::MAX)
        .saturating_add(64);
    if soft.is_some_and(|soft| soft < needed) {
        log::log(
            log::Level::Warn,
            "the open files limit is below --max-connections: connections past it wait in the listen queue",
            &[
                ("open_files_limit", soft.into()),
                ("max_connections", max_connections.into()),
            ],
        );
    }
}
