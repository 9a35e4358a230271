//! The API server's defaulting that changes a verdict, for objects that never went through
//! an API server (manifests on disk, the playground). Admission requests from a cluster are
//! already defaulted and need none of this.
//!
//! One rule matters to the checks: a volume with no source becomes an `emptyDir` volume
//! (core/v1 `SetDefaults_Volume`); without it `restrictedVolumes` would report the volume's
//! type as `"unknown"`.

use crate::request::ResourceKind;
use serde_json::{Map, Value};

/// Applies the verdict-relevant API server defaults to an object of a kind podsec
/// evaluates (read from its `apiVersion` and `kind`); other objects are left alone.
pub fn apply_api_server_defaults(object: &mut Value) {
    let Some(kind) = object_kind(object) else {
        return;
    };
    let (spec_path, _) = kind.pod_paths();
    let mut target = Some(object);
    for segment in spec_path.split('.') {
        target = target.and_then(|v| v.get_mut(segment));
    }
    let volumes = target
        .and_then(|spec| spec.get_mut("volumes"))
        .and_then(Value::as_array_mut);
    for volume in volumes.into_iter().flatten() {
        if let Value::Object(fields) = volume {
            let has_source = fields.iter().any(|(k, v)| k != "name" && !v.is_null());
            if !has_source {
                fields.insert("emptyDir".to_owned(), Value::Object(Map::new()));
            }
        }
    }
}

/// The kind of a manifest, from its `apiVersion` (group) and `kind`.
pub fn object_kind(object: &Value) -> Option<ResourceKind> {
    let kind = object.get("kind")?.as_str()?;
    let api_version = object.get("apiVersion")?.as_str()?;
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    ResourceKind::from_group_kind(group, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sourceless_volumes_become_empty_dirs() {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"volumes": [
            {"name": "a"}, {"name": "b", "secret": {"secretName": "s"}}, {"name": "c", "hostPath": null}
        ]}});
        apply_api_server_defaults(&mut pod);
        assert_eq!(pod["spec"]["volumes"][0]["emptyDir"], json!({}));
        assert!(pod["spec"]["volumes"][1].get("emptyDir").is_none());
        assert_eq!(pod["spec"]["volumes"][2]["emptyDir"], json!({}));

        let mut cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate":
            {"spec": {"template": {"spec": {"volumes": [{"name": "a"}]}}}}}});
        apply_api_server_defaults(&mut cron);
        assert_eq!(
            cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"][0]["emptyDir"],
            json!({})
        );

        let mut other =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "spec": {"volumes": [{"name": "a"}]}});
        apply_api_server_defaults(&mut other);
        assert!(other["spec"]["volumes"][0].get("emptyDir").is_none());
    }
}
