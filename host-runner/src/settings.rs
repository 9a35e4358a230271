//! Loading settings from `--settings FILE` (YAML or JSON) or `--settings-json`.

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::Value;
use std::path::Path;

/// The settings document, `{}` when none is given.
pub fn load(file: Option<&Path>, json: Option<&str>) -> Result<Value> {
    match (file, json) {
        (Some(_), Some(_)) => bail!("give --settings or --settings-json, not both"),
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read settings {}", path.display()))?;
            parse(&text).with_context(|| format!("settings {}", path.display()))
        }
        (None, Some(json)) => {
            serde_json::from_str(json).map_err(|e| anyhow!("--settings-json is not JSON: {e}"))
        }
        (None, None) => Ok(Value::Object(Default::default())),
    }
}

/// Parses a settings document, JSON or YAML; an empty document means `{}`.
pub fn parse(text: &str) -> Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| anyhow!("not valid JSON: {e}"));
    }
    let value: Value = serde_saphyr::from_str(text).map_err(|e| {
        anyhow!(
            "not valid YAML: {}",
            policy_core::documents::yaml_error_text(&e)
        )
    })?;
    Ok(if value.is_null() {
        Value::Object(Default::default())
    } else {
        value
    })
}
