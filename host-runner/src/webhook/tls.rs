//! TLS with rustls: the certificate and key are read from PEM files and read again when
//! either file changes, so cert-manager's renewals take effect without a restart.

use super::log::{log, Level};
use anyhow::{anyhow, Context as _, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// Serves the current certificate; [`ReloadingCert::watch`] swaps it when the files change.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingCert {
    /// Loads the certificate chain and key; fails with a message naming the file.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<ReloadingCert>> {
        let key = read_certified_key(cert_path, key_path)?;
        Ok(Arc::new(ReloadingCert {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            current: RwLock::new(Arc::new(key)),
        }))
    }

    /// The rustls server configuration using this certificate (HTTP/1.1).
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow!("TLS setup: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Reloads when the files' modification times change, checking every `every`. A pair
    /// that does not load, or whose key is not the certificate's (the files are replaced
    /// one after the other, and a check may fall between the two), leaves the previous
    /// certificate in use and is read again at the next check, until it loads.
    pub async fn watch(self: Arc<Self>, every: Duration) {
        let mut seen = (mtime(&self.cert_path), mtime(&self.key_path));
        let mut warned = None;
        loop {
            tokio::time::sleep(every).await;
            let now = (mtime(&self.cert_path), mtime(&self.key_path));
            if now == seen {
                continue;
            }
            match read_certified_key(&self.cert_path, &self.key_path) {
                Ok(key) => {
                    seen = now;
                    warned = None;
                    if let Ok(mut current) = self.current.write() {
                        *current = Arc::new(key);
                    }
                    log(
                        Level::Info,
                        "reloaded the TLS certificate",
                        &[("cert", self.cert_path.display().to_string().into())],
                    );
                }
                Err(error) => {
                    if warned != Some(now) {
                        warned = Some(now);
                        log(
                            Level::Warn,
                            "kept the previous TLS certificate: the new one does not load (yet)",
                            &[("error", format!("{error:#}").into())],
                        );
                    }
                }
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|key| Arc::clone(&key))
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn read_certified_key(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .with_context(|| format!("cannot read the certificate {}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert_path.display()))?;
    if certs.is_empty() {
        return Err(anyhow!("{} holds no certificate", cert_path.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("cannot read a PEM private key from {}", key_path.display()))?;
    let signing_key = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| anyhow!("{}: unsupported private key: {e}", key_path.display()))?;
    let certified = CertifiedKey::new(certs, signing_key);
    certified.keys_match().map_err(|e| {
        anyhow!(
            "the key {} is not the certificate {}'s: {e}",
            key_path.display(),
            cert_path.display()
        )
    })?;
    Ok(certified)
}
