//! Fixing manifests as text, for `podsec fix` and the playground: every object of a file
//! (YAML documents, a JSON value, a `List`'s items) is fixed, and the file is written back
//! with the documents in their order. A document nothing changed in is kept to the byte,
//! comments and all; a changed one is written anew from its parsed form, its keys in their
//! original order (new keys after them), YAML as YAML and JSON as JSON. The comment lines
//! above a changed YAML document are kept; comments inside it are lost, since the YAML
//! library keeps none. Needs the `yaml` feature.

use crate::audit::Evaluator;
use crate::field_path::{FieldPath, Segment};
use crate::fix::{fix_with, FixOptions, Fixed};
use crate::manifest::{identity, located_documents, request_for, Document as Manifest};
use crate::Error;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Number, Value};
use std::collections::HashSet;
use std::fmt;

/// A parsed document that remembers the order of its keys (serde_json's map sorts them).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Number::from_f64(v).map_or(Node::Null, Node::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<Node, Node>()? {
            let key = match key {
                Node::String(key) => key,
                Node::Number(n) => n.to_string(),
                Node::Bool(b) => b.to_string(),
                Node::Null => "null".to_owned(),
                Node::Seq(_) | Node::Map(_) => {
                    return Err(serde::de::Error::custom("a key must be a scalar"))
                }
            };
            // A repeated key: the last one wins, as serde_json's map has it.
            entries.retain(|(k, _)| *k != key);
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Number(n) => n.serialize(serializer),
            Node::String(s) => serializer.serialize_str(s),
            Node::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl Node {
    fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.clone()),
            Node::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    /// `value` as a node whose maps keep `template`'s key order, new keys after them.
    fn ordered(value: &Value, template: Option<&Node>) -> Node {
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.clone()),
            Value::String(s) => Node::String(s.clone()),
            Value::Array(items) => {
                let old = match template {
                    Some(Node::Seq(old)) => old.as_slice(),
                    _ => &[],
                };
                Node::Seq(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| Node::ordered(item, old.get(i)))
                        .collect(),
                )
            }
            Value::Object(map) => {
                let mut entries = Vec::with_capacity(map.len());
                let mut seen = HashSet::new();
                if let Some(Node::Map(old)) = template {
                    for (key, old_value) in old {
                        if let Some(value) = map.get(key) {
                            seen.insert(key.as_str());
                            entries.push((key.clone(), Node::ordered(value, Some(old_value))));
                        }
                    }
                }
                for (key, value) in map {
                    if !seen.contains(key.as_str()) {
                        entries.push((key.clone(), Node::ordered(value, None)));
                    }
                }
                Node::Map(entries)
            }
        }
    }
}

/// One object of a file and what fixing it did.
#[derive(Debug, Clone)]
pub struct ObjectFix {
    /// The document's index in the file (YAML documents; 0 for a JSON file).
    pub document: usize,
    /// Where the object is in its document: empty, or a `List`'s `items[3]`.
    pub at: FieldPath,
    /// `Kind namespace/name`, as `podsec check` names objects.
    pub name: String,
    /// The outcome, or why the object could not be fixed (it could not be evaluated).
    pub outcome: Result<Fixed, String>,
}

/// What fixing a whole file did.
#[derive(Debug, Clone)]
pub struct FileFix {
    /// The file, fixed.
    pub text: String,
    /// Every object found, in order.
    pub objects: Vec<ObjectFix>,
    /// Documents that could not be read (`source:line: why`); they are kept as they were.
    pub errors: Vec<String>,
}

impl FileFix {
    /// Whether any object changed.
    pub fn changed(&self) -> bool {
        self.objects
            .iter()
            .any(|o| o.outcome.as_ref().is_ok_and(|f| !f.changes.is_empty()))
    }
}

/// Fixes every object of `text` (read from `source`) under `settings` (a settings document,
/// as the evaluator reads it), judging each as `podsec check` does, through `evaluator`.
pub fn fix_text(
    source: &str,
    text: &str,
    settings: &Value,
    options: FixOptions,
    evaluator: &dyn Evaluator,
) -> FileFix {
    let mut out = FileFix {
        text: String::with_capacity(text.len()),
        objects: Vec::new(),
        errors: Vec::new(),
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(node) = serde_json::from_str::<Node>(text) {
            match fix_node(&node, 0, settings, options, evaluator, &mut out.objects) {
                Some(fixed) => {
                    out.text = serde_json::to_string_pretty(&fixed).unwrap_or_default();
                    out.text.push('\n');
                }
                None => out.text.push_str(text),
            }
            return out;
        }
        if let Some(values) = json_stream(text) {
            // JSON Lines (`jq -c '.items[]'`): each value fixed, written back on its line.
            let mut changed = false;
            let mut lines = Vec::with_capacity(values.len());
            for (document, node) in values.iter().enumerate() {
                let fixed = fix_node(
                    node,
                    document,
                    settings,
                    options,
                    evaluator,
                    &mut out.objects,
                );
                changed |= fixed.is_some();
                lines.push(
                    serde_json::to_string(fixed.as_ref().unwrap_or(node)).unwrap_or_default(),
                );
            }
            if changed {
                out.text = lines.join("\n");
                out.text.push('\n');
            } else {
                out.text.push_str(text);
            }
            return out;
        }
    }
    let mut document = 0usize;
    for chunk in yaml_chunks(text) {
        out.text.push_str(chunk.separator);
        let body = chunk.body;
        if body
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            out.text.push_str(body);
            continue;
        }
        let node = match serde_saphyr::from_str::<Node>(body) {
            Ok(Node::Null) => {
                out.text.push_str(body);
                continue;
            }
            Ok(node) => node,
            Err(error) => {
                out.errors.push(format!(
                    "{source}:{}: invalid YAML: {}",
                    chunk.line,
                    crate::documents::yaml_error_text(&error)
                ));
                out.text.push_str(body);
                document = document.saturating_add(1);
                continue;
            }
        };
        match fix_node(
            &node,
            document,
            settings,
            options,
            evaluator,
            &mut out.objects,
        ) {
            Some(fixed) => match serde_saphyr::to_string_with_options(&fixed, yaml_style(body)) {
                Ok(yaml) => {
                    if chunk.separator.is_empty() && chunk.inline {
                        out.text.push_str("---\n");
                    }
                    out.text.push_str(leading_comments(body));
                    out.text.push_str(&yaml);
                    if !yaml.ends_with('\n') {
                        out.text.push('\n');
                    }
                }
                Err(error) => {
                    out.errors.push(format!(
                        "{source}:{}: the fixed document could not be written as YAML: {error}",
                        chunk.line
                    ));
                    out.text.push_str(body);
                }
            },
            None => out.text.push_str(body),
        }
        document = document.saturating_add(1);
    }
    out
}

/// JSON values one after another (at least two), or `None`.
fn json_stream(text: &str) -> Option<Vec<Node>> {
    let values: Result<Vec<Node>, _> = serde_json::Deserializer::from_str(text)
        .into_iter::<Node>()
        .collect();
    values.ok().filter(|values| values.len() > 1)
}

/// Fixes the objects of one document; the fixed document, or `None` when nothing changed.
fn fix_node(
    node: &Node,
    document: usize,
    settings: &Value,
    options: FixOptions,
    evaluator: &dyn Evaluator,
    objects: &mut Vec<ObjectFix>,
) -> Option<Node> {
    let mut value = node.to_value();
    let mut changed = false;
    for (at, manifest) in located_documents(value.clone()) {
        let Manifest::Object(object) = manifest else {
            continue; // an AdmissionReview: a request, not a manifest to fix
        };
        let id = identity(&Manifest::Object(object.clone()));
        let name = format!(
            "{} {}{}",
            id.kind.as_deref().unwrap_or("object"),
            id.namespace.map(|n| format!("{n}/")).unwrap_or_default(),
            id.name.as_deref().unwrap_or("")
        );
        let outcome = fix_with(object, options, |candidate| {
            let request = request_for(Manifest::Object(candidate.clone()), settings);
            let bytes = serde_json::to_vec(&request).map_err(|e| {
                Error::InvalidRequest(format!("the object does not serialise: {e}"))
            })?;
            let answer = evaluator.evaluate(&bytes).map_err(Error::InvalidRequest)?;
            match (answer.verdict, answer.error) {
                (Some(verdict), _) => Ok(verdict),
                (None, Some(error)) => Err(Error::InvalidObject(error)),
                (None, None) => Err(Error::InvalidRequest(
                    "the policy gave no verdict (podsec fix needs podsec's own module)".to_owned(),
                )),
            }
        })
        .map_err(|e| e.to_string());
        if let Ok(fixed) = &outcome {
            if !fixed.changes.is_empty() {
                if let Some(slot) = value_at(&mut value, &at) {
                    *slot = fixed.object.clone();
                    changed = true;
                }
            }
        }
        objects.push(ObjectFix {
            document,
            at,
            name,
            outcome,
        });
    }
    changed.then(|| Node::ordered(&value, Some(node)))
}

fn value_at<'v>(value: &'v mut Value, at: &FieldPath) -> Option<&'v mut Value> {
    at.segments()?
        .iter()
        .try_fold(value, |node, segment| match segment {
            Segment::Key(key) => node.get_mut(key.as_str()),
            Segment::Index(index) => node.get_mut(*index),
        })
}

/// The indentation a document's text uses, for writing it anew the same way: the step
/// of its first nested mapping, and whether its lists are indented below their key
/// (`containers:` then `  - name: app`) or not (kubectl's style, the default).
fn yaml_style(body: &str) -> serde_saphyr::SerializerOptions {
    let mut options = serde_saphyr::SerializerOptions::default();
    let mut step = None;
    let mut indented_lists = None;
    let mut lines = body
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .peekable();
    while let Some(line) = lines.next() {
        let Some(next) = lines.peek() else { break };
        let trimmed = line.trim_end();
        if !trimmed.ends_with(':') || trimmed.trim_start().starts_with("- ") {
            continue;
        }
        let indent = line.len().saturating_sub(line.trim_start().len());
        let next_indent = next.len().saturating_sub(next.trim_start().len());
        if next.trim_start().starts_with("- ") {
            indented_lists.get_or_insert(next_indent > indent);
        } else if next_indent > indent {
            step.get_or_insert(next_indent.saturating_sub(indent));
        }
        if step.is_some() && indented_lists.is_some() {
            break;
        }
    }
    if let Some(step) = step.filter(|s| (1..=8).contains(s)) {
        options.indent_step = step;
    }
    options.compact_list_indent = !indented_lists.unwrap_or(false);
    options
}

/// The comment and blank lines a document's text starts with: kept above a rewritten
/// document (the YAML library drops comments).
fn leading_comments(body: &str) -> &str {
    let mut end = 0usize;
    for line in body.split_inclusive('\n') {
        let content = line.trim();
        if !(content.is_empty() || content.starts_with('#')) || !line.ends_with('\n') {
            break;
        }
        end = end.saturating_add(line.len());
    }
    body.get(..end).unwrap_or("")
}

/// One YAML document of a stream: the separator line before it (kept as it is) and its
/// text.
struct Chunk<'t> {
    separator: &'t str,
    body: &'t str,
    /// The line the body starts on (1-based).
    line: usize,
    /// Whether the separator line carries content (`--- {…}`), which then is the body's.
    inline: bool,
}

/// Splits a YAML stream at its `---` and `...` lines, keeping every byte.
fn yaml_chunks(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut separator = "";
    let mut inline = false;
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        let is_start =
            content == "---" || content.starts_with("--- ") || content.starts_with("---\t");
        let is_end = content == "..." || content.starts_with("... ");
        let next = offset.saturating_add(line.len());
        if is_start || is_end {
            chunks.push(Chunk {
                separator,
                body: text.get(start..offset).unwrap_or(""),
                line: start_line,
                inline,
            });
            let rest = content.get(3..).unwrap_or("").trim();
            inline = is_start && !rest.is_empty() && !rest.starts_with('#');
            if inline {
                // `--- {…}`: the line is the body's first line.
                separator = "";
                start = offset;
            } else {
                separator = text.get(offset..next).unwrap_or("");
                start = next;
            }
            start_line = number.saturating_add(if inline { 1 } else { 2 });
        }
        offset = next;
    }
    chunks.push(Chunk {
        separator,
        body: text.get(start..).unwrap_or(""),
        line: start_line,
        inline,
    });
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::NativeEngine;
    use serde_json::json;

    fn fix(text: &str, settings: Value) -> FileFix {
        fix_text(
            "t.yaml",
            text,
            &settings,
            FixOptions::default(),
            &NativeEngine,
        )
    }

    #[test]
    fn untouched_documents_keep_every_byte_and_changed_ones_their_key_order() {
        let text = "# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n# the pod\n\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: nginx\n    securityContext:\n      procMount: Unmasked\n...\n---\nkind: Service # kept\n";
        let fixed = fix(text, json!({}));
        assert!(fixed.errors.is_empty(), "{:?}", fixed.errors);
        assert!(fixed.changed());
        assert!(fixed.text.starts_with(
            "# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n# the pod\n\napiVersion: v1\n"
        ));
        assert!(
            fixed.text.ends_with("...\n---\nkind: Service # kept\n"),
            "{}",
            fixed.text
        );
        let second: Value = serde_saphyr::from_str(
            fixed
                .text
                .split("---\n")
                .nth(1)
                .unwrap_or("")
                .trim_end_matches("...\n"),
        )
        .unwrap_or_default();
        assert_eq!(
            second["spec"]["containers"][0]["securityContext"]["procMount"],
            "Default"
        );
        let keys: Vec<&str> = fixed
            .text
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.starts_with('-') && l.contains(':'))
            .collect();
        assert_eq!(
            keys,
            [
                "apiVersion: v1",
                "kind: ConfigMap",
                "metadata: {name: c}",
                "apiVersion: v1",
                "kind: Pod",
                "metadata:",
                "spec:",
                "kind: Service # kept"
            ]
        );
        let again = fix(&fixed.text, json!({}));
        assert!(!again.changed());
        assert_eq!(again.text, fixed.text);
    }

    #[test]
    fn changed_documents_keep_their_indentation_style() {
        let indented = "apiVersion: v1\nkind: Pod\nmetadata:\n    name: p\nspec:\n    containers:\n        - name: app\n          image: nginx\n          securityContext:\n              procMount: Unmasked\n";
        let fixed = fix(indented, json!({}));
        // Four-space steps and indented lists are kept (the YAML library places a list
        // item's nested mappings by its own rule).
        assert!(
            fixed
                .text
                .starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n    name: p\nspec:\n    containers:\n        - name: app\n          image: nginx\n"),
            "{}",
            fixed.text
        );
        let back: Value = serde_saphyr::from_str(&fixed.text).unwrap_or_default();
        let want: Value =
            serde_saphyr::from_str(&indented.replace("Unmasked", "Default")).unwrap_or_default();
        assert_eq!(back, want);
        let compact = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: nginx\n    securityContext:\n      procMount: Unmasked\n";
        assert_eq!(
            fix(compact, json!({})).text,
            compact.replace("Unmasked", "Default")
        );
    }

    #[test]
    fn json_stays_json_and_lists_are_fixed_item_by_item() {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a"},
             "spec": {"containers": [{"name": "x", "image": "i",
                "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}},
            {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "b"},
             "spec": {"containers": [{"name": "y", "image": "i"}]}}]});
        let text = serde_json::to_string(&list).unwrap_or_default();
        let fixed = fix(&text, json!({}));
        assert_eq!(fixed.objects.len(), 2);
        assert_eq!(fixed.objects[0].at.as_str(), "items[0]");
        assert_eq!(fixed.objects[0].name, "Pod default/a");
        let back: Value = serde_json::from_str(&fixed.text).unwrap_or_default();
        assert_eq!(
            back["items"][0]["spec"]["containers"][0]["securityContext"]["seccompProfile"],
            json!({"type": "RuntimeDefault"})
        );
        assert_eq!(back["items"][1], list["items"][1]);
        // The text's key order (serde_json wrote it sorted), two-space indents as kubectl's.
        assert!(fixed
            .text
            .starts_with("{\n  \"apiVersion\": \"v1\",\n  \"items\": ["));
        let unchanged = fix("{\"kind\": \"Pod\", \"apiVersion\": \"v1\", \"metadata\": {\"name\": \"ok\"}, \"spec\": {\"containers\": [{\"name\": \"a\", \"image\": \"i\"}]}}", json!({}));
        assert!(!unchanged.changed());
        assert!(unchanged.text.starts_with("{\"kind\""));
    }

    #[test]
    fn json_lines_stay_json_lines() {
        let text = "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"a\"}, \"spec\": {\"containers\": [{\"name\": \"x\", \"image\": \"i\", \"securityContext\": {\"procMount\": \"Unmasked\"}}]}}\n{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\"}}\n";
        let fixed = fix(text, json!({}));
        assert_eq!(fixed.objects.len(), 2);
        let lines: Vec<Value> = fixed
            .text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_default())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0]["spec"]["containers"][0]["securityContext"]["procMount"],
            "Default"
        );
        assert_eq!(lines[1]["kind"], "ConfigMap");
        assert!(fixed
            .text
            .starts_with("{\"apiVersion\":\"v1\",\"kind\":\"Pod\""));
    }

    #[test]
    fn unreadable_documents_are_kept_and_reported() {
        let text = "kind: Pod\nmetadata: {name: [\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: i, securityContext: {procMount: Unmasked}}]}\n";
        let fixed = fix(text, json!({}));
        assert_eq!(fixed.errors.len(), 1, "{:?}", fixed.errors);
        assert!(fixed.errors[0].starts_with("t.yaml:1: invalid YAML"));
        assert!(fixed
            .text
            .starts_with("kind: Pod\nmetadata: {name: [\n---\n"));
        assert!(fixed.text.contains("procMount: Default"));
    }
}
