//! The `podsec` subcommands, one file each.

pub mod bench;
pub mod check;
pub mod fix;
pub mod run;
pub mod serve;

use crate::module::PolicyModule;
use crate::runtime::SandboxConfig;
use anyhow::{anyhow, bail, Result};
use clap::Args;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// Which module runs, with which settings, in which sandbox: flags every subcommand shares.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// The policy module (default: podsec's module, embedded in this binary). Any
    /// Kubewarden waPC policy works.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Settings as a YAML or JSON file.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Settings as inline JSON, e.g. '{"level": "restricted"}'.
    #[arg(long, value_name = "JSON")]
    pub settings_json: Option<String>,
    /// The level: privileged, baseline or restricted (the settings' `level`; wins over
    /// --settings).
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<String>,
    /// The Pod Security Standards version, `v1.N` or `latest` (the settings' `version`).
    #[arg(long = "version", value_name = "VERSION")]
    pub pss_version: Option<String>,
    /// Memory limit of one evaluation, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub memory_limit: usize,
    /// Deadline of one evaluation, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub timeout: u64,
}

impl PolicyArgs {
    /// The sandbox limits these flags ask for.
    pub fn sandbox(&self) -> SandboxConfig {
        SandboxConfig {
            memory_limit: self.memory_limit.saturating_mul(1024 * 1024),
            deadline: Duration::from_millis(self.timeout),
            ..SandboxConfig::default()
        }
    }

    /// Loads the module and the settings, and has the module validate the settings.
    pub fn load(&self) -> Result<(PolicyModule, Value)> {
        self.load_in(self.sandbox())
    }

    /// [`PolicyArgs::load`] in a sandbox of the caller's making.
    pub fn load_in(&self, sandbox: SandboxConfig) -> Result<(PolicyModule, Value)> {
        let mut settings =
            crate::settings::load(self.settings.as_deref(), self.settings_json.as_deref())?;
        for (key, value) in [("level", &self.level), ("version", &self.pss_version)] {
            let Some(value) = value else { continue };
            match &mut settings {
                Value::Object(map) => {
                    map.insert(key.to_owned(), Value::String(value.clone()));
                }
                _ => bail!("--{key} needs the settings to be an object"),
            }
        }
        let module = PolicyModule::load(self.policy.as_deref(), sandbox)?;
        let answer = module
            .validate_settings(&settings)
            .map_err(|e| anyhow!("the policy could not validate the settings: {e}"))?;
        if !answer.valid {
            let why = answer
                .message
                .unwrap_or_else(|| "the policy rejected the settings".to_owned());
            bail!("invalid settings: {why}");
        }
        Ok((module, settings))
    }
}

/// Exit codes shared by the subcommands.
pub mod exit {
    /// Everything was allowed.
    pub const ALLOWED: u8 = 0;
    /// Something was denied.
    pub const DENIED: u8 = 1;
    /// Bad input, settings or module.
    pub const ERROR: u8 = 2;
}
