//! kwctl's host-capabilities session files (`kwctl run
//! --record-host-capabilities-interactions` writes them,
//! `--replay-host-capabilities-interactions` reads them): a YAML list of exchanges, each a
//! request (a YAML document tagged with the request type, e.g. `!KubernetesGetResource`)
//! and the host's response (`type: Success` with a `payload`, or `type: Error` with a
//! `message`). `podsec run` answers the module's host calls from one, so the same session
//! files drive kwctl and podsec.

use anyhow::{anyhow, bail, Context as _, Result};
use policy_core::cluster::{Cluster, GetResourceRequest, ListResourcesByNamespaceRequest};
use serde_json::Value;
use std::path::Path;
use std::sync::Mutex;

/// What a recorded exchange asked.
#[derive(Debug, Clone, PartialEq)]
enum Question {
    Get {
        api_version: String,
        kind: String,
        name: String,
        namespace: Option<String>,
    },
    List {
        api_version: String,
        kind: String,
        namespace: String,
        label_selector: Option<String>,
        field_selector: Option<String>,
    },
    /// A request type podsec's module never makes (kept so the file still reads).
    Other(String),
}

/// A replayed session: each recorded exchange answers one matching host call.
#[derive(Debug)]
pub struct Session {
    exchanges: Vec<(Question, Result<Vec<u8>, String>)>,
    used: Mutex<Vec<bool>>,
}

fn text(map: &Value, key: &str) -> Option<String> {
    match map.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn question(request: &str) -> Result<Question> {
    let request = request.trim_start();
    let (tag, body) = match request.strip_prefix('!') {
        Some(rest) => rest.split_once('\n').unwrap_or((rest, "")),
        None => bail!("the request does not start with its type tag (e.g. !KubernetesGetResource)"),
    };
    let tag = tag.trim();
    let fields: Value = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_saphyr::from_str(body).map_err(|e| {
            anyhow!(
                "the {tag} request is not YAML: {}",
                policy_core::documents::yaml_error_text(&e)
            )
        })?
    };
    let required =
        |key: &str| text(&fields, key).ok_or_else(|| anyhow!("the {tag} request has no {key}"));
    Ok(match tag {
        "KubernetesGetResource" => Question::Get {
            api_version: required("api_version")?,
            kind: required("kind")?,
            name: required("name")?,
            namespace: text(&fields, "namespace"),
        },
        "KubernetesListResourceNamespace" => Question::List {
            api_version: required("api_version")?,
            kind: required("kind")?,
            namespace: required("namespace")?,
            label_selector: text(&fields, "label_selector"),
            field_selector: text(&fields, "field_selector"),
        },
        other => Question::Other(other.to_owned()),
    })
}

impl Session {
    /// Reads a session file.
    pub fn load(path: &Path) -> Result<Session> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the session file {}", path.display()))?;
        Session::parse(&text).with_context(|| format!("session file {}", path.display()))
    }

    /// Parses a session file's text.
    pub fn parse(source: &str) -> Result<Session> {
        let document: Value = serde_saphyr::from_str(source)
            .map_err(|e| anyhow!("not YAML: {}", policy_core::documents::yaml_error_text(&e)))?;
        let items = match document {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            _ => bail!("a session file is a list of exchanges"),
        };
        let mut exchanges = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = |what: &str| anyhow!("exchange {i}: {what}");
            if text(item, "type").as_deref() != Some("Exchange") {
                return Err(at("type is not Exchange"));
            }
            let request = text(item, "request").ok_or_else(|| at("no request"))?;
            let question = question(&request).map_err(|e| at(&e.to_string()))?;
            let response = item.get("response").ok_or_else(|| at("no response"))?;
            let answer = match text(response, "type").as_deref() {
                Some("Success") => Ok(text(response, "payload")
                    .ok_or_else(|| at("a Success response has no payload"))?
                    .into_bytes()),
                Some("Error") => Err(text(response, "message").unwrap_or_default()),
                _ => return Err(at("the response type is neither Success nor Error")),
            };
            exchanges.push((question, answer));
        }
        let used = Mutex::new(vec![false; exchanges.len()]);
        Ok(Session { exchanges, used })
    }

    /// How many exchanges the file holds.
    pub fn len(&self) -> usize {
        self.exchanges.len()
    }

    /// Whether the file holds none.
    pub fn is_empty(&self) -> bool {
        self.exchanges.is_empty()
    }

    /// The first unused exchange that asked `question`.
    fn answer(&self, question: &Question, describe: String) -> Result<Vec<u8>, String> {
        let mut used = self
            .used
            .lock()
            .map_err(|_| "the session is poisoned".to_owned())?;
        let found = self
            .exchanges
            .iter()
            .enumerate()
            .find(|(i, (q, _))| q == question && !used.get(*i).copied().unwrap_or(true));
        match found {
            Some((i, (_, answer))) => {
                if let Some(slot) = used.get_mut(i) {
                    *slot = true;
                }
                answer.clone()
            }
            None => Err(format!(
                "the session file has no recorded answer for {describe}"
            )),
        }
    }
}

impl Cluster for Session {
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String> {
        let question = Question::Get {
            api_version: request.api_version.clone(),
            kind: request.kind.clone(),
            name: request.name.clone(),
            namespace: request.namespace.clone(),
        };
        self.answer(
            &question,
            format!(
                "get_resource {}/{} {:?}",
                request.api_version, request.kind, request.name
            ),
        )
    }

    fn list_resources_by_namespace(
        &self,
        request: &ListResourcesByNamespaceRequest,
    ) -> Result<Vec<u8>, String> {
        let question = Question::List {
            api_version: request.api_version.clone(),
            kind: request.kind.clone(),
            namespace: request.namespace.clone(),
            label_selector: request.label_selector.clone(),
            field_selector: request.field_selector.clone(),
        };
        self.answer(
            &question,
            format!(
                "list_resources_by_namespace {}/{} in {:?}",
                request.api_version, request.kind, request.namespace
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = r#"---
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: shop
    namespace: null
    disable_cache: false
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}'
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: gone
    namespace: null
    disable_cache: false
  response:
    type: Error
    message: "Cannot find v1/Namespace named 'gone' inside of namespace 'None'"
"#;

    #[test]
    fn replays_recorded_answers_once_each() {
        let session = Session::parse(SESSION).expect("a session");
        assert_eq!(session.len(), 2);
        let shop = GetResourceRequest::namespace("shop");
        let answer = session.get_resource(&shop).expect("recorded");
        assert!(String::from_utf8_lossy(&answer).contains("restricted"));
        let again = session.get_resource(&shop).unwrap_err();
        assert!(again.contains("no recorded answer"), "{again}");
        let gone = session
            .get_resource(&GetResourceRequest::namespace("gone"))
            .unwrap_err();
        assert_eq!(
            gone,
            "Cannot find v1/Namespace named 'gone' inside of namespace 'None'"
        );
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let error = |text: &str| Session::parse(text).unwrap_err().to_string();
        assert!(error("{a: 1}").contains("a list of exchanges"));
        assert!(
            error("- {type: Exchange, response: {type: Success, payload: x}}")
                .contains("exchange 0: no request")
        );
        assert!(error(
            "- {type: Exchange, request: 'api_version: v1', response: {type: Success, payload: x}}"
        )
        .contains("type tag"));
    }
}
