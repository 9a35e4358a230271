//! `podsec run`: evaluate one admission request and print the ValidationResponse, as
//! `kwctl run` does.

use super::{exit, PolicyArgs};
use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use policy_core::manifest::validation_request;
use serde_json::Value;
use std::io::Read as _;
use std::path::PathBuf;

/// Evaluate one admission request and print the policy's ValidationResponse.
///
/// The request is an AdmissionReview (its `request` is used), a bare AdmissionRequest,
/// or a Kubewarden ValidationRequest (its `request` is used; settings come from the flags),
/// as JSON or YAML. Plain manifests are judged with `podsec check`. Exit status: 0
/// accepted, 1 rejected, 2 bad input or settings.
#[derive(Debug, Args)]
#[command(after_help = RUN_EXAMPLES)]
pub struct Run {
    /// The request file, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub request: PathBuf,
    /// Answer the module's host calls (the Namespace of a namespaceLabels request) from a
    /// kwctl session file, as `kwctl run --replay-host-capabilities-interactions` does.
    #[arg(long, value_name = "FILE")]
    pub replay_host_capabilities_interactions: Option<PathBuf>,
    /// The module, its settings and the sandbox limits.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `podsec run --help`'s examples, one per line.
const RUN_EXAMPLES: &str = "\
Examples:
  podsec run --request review.json
  podsec run --request review.json --level restricted
  podsec run --policy other-policy.wasm --request review.json
  podsec run --request review.json --settings-json '{\"namespaceLabels\": true}' --replay-host-capabilities-interactions session.yml";

impl Run {
    /// Runs the subcommand; returns the exit status.
    pub fn execute(self) -> Result<u8> {
        let text = if self.request.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        } else {
            std::fs::read_to_string(&self.request)
                .with_context(|| format!("cannot read {}", self.request.display()))?
        };
        let document = crate::settings::parse(&text)
            .with_context(|| format!("request {}", self.request.display()))?;
        let request = admission_request(document)
            .with_context(|| format!("request {}", self.request.display()))?;
        let cluster = match &self.replay_host_capabilities_interactions {
            Some(path) => Some(std::sync::Arc::new(crate::session::Session::load(path)?)
                as crate::runtime::HostCluster),
            None => None,
        };
        let (module, settings) = self.policy.load()?;
        let payload = serde_json::to_vec(&validation_request(request, &settings))?;
        let response = module
            .validate_with(&payload, cluster)
            .map_err(|e| anyhow!("{e}"))?;
        println!("{}", serde_json::to_string_pretty(&response)?);
        Ok(if response.accepted {
            exit::ALLOWED
        } else {
            exit::DENIED
        })
    }
}

/// The AdmissionRequest inside an AdmissionReview or a ValidationRequest, or the document
/// itself when it is one.
pub fn admission_request(document: Value) -> Result<Value> {
    let is_review = document.get("kind").and_then(Value::as_str) == Some("AdmissionReview");
    let request = if is_review || document.get("request").is_some() {
        document
            .get("request")
            .cloned()
            .ok_or_else(|| anyhow!("the AdmissionReview has no request"))?
    } else {
        document
    };
    let kind = request.get("kind").and_then(Value::as_str);
    let is_manifest = request.get("apiVersion").is_some()
        && kind.is_some()
        && request.get("uid").is_none()
        && request.get("operation").is_none();
    if is_manifest {
        return Err(anyhow!(
            "this is a Kubernetes object ({}), not an admission request: judge manifests with `podsec check FILE`",
            kind.unwrap_or("")
        ));
    }
    if !request.is_object() {
        return Err(anyhow!("the request is not an object"));
    }
    Ok(request)
}
