//! Splitting text into the documents of a manifest file: JSON (one value; an array gives
//! its items) or a YAML stream separated by `---` lines. Each document is parsed on its
//! own, so one bad document is reported with its position and the others still count.
//! Pure (no I/O); shared by the `podsec` CLI, the playground and the fuzz targets.
//! Needs the `yaml` feature.

use serde_json::Value;

/// One document of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The file it came from (`-` for standard input).
    pub source: String,
    /// Its index among the non-empty documents of that file.
    pub index: usize,
    /// The line it starts on (1-based).
    pub line: usize,
    /// The parsed document, or why it could not be parsed (with its position).
    pub content: Result<Value, String>,
    /// Where a parse error is, as (line, column), both 1-based, when the parser says.
    pub error_at: Option<(usize, usize)>,
}

impl Document {
    /// A document that was read, `index`-th of `source`, starting on `line`.
    fn read(source: &str, index: usize, line: usize, value: Value) -> Document {
        Document {
            source: source.to_owned(),
            index,
            line,
            content: Ok(value),
            error_at: None,
        }
    }

    /// The byte offset in the whole input where this document's text starts (its first
    /// line), for [`crate::locate::locate`].
    pub fn offset_in(&self, text: &str) -> usize {
        line_offset(text, self.line)
    }
}

/// The byte offset of 1-based `line` in `text` (the end of the text past its last line).
pub fn line_offset(text: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    text.match_indices('\n')
        .nth(line.saturating_sub(2))
        .map_or(text.len(), |(at, _)| at.saturating_add(1))
}

/// Splits text into documents, reading every stream `kubectl apply -f` reads: one JSON
/// value (an array gives its items), JSON values one after another (JSON Lines), or YAML
/// documents separated by `---` lines, each of which may be JSON or flow-style YAML.
pub fn parse_documents(source: &str, text: &str) -> Vec<Document> {
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return parse_yaml(source, text);
    }
    let whole = parse_json(source, text);
    if whole.iter().all(|d| d.content.is_ok()) {
        return whole;
    }
    if let Some(stream) = parse_json_stream(source, text) {
        return stream;
    }
    // Not one JSON value nor a stream of them: YAML documents (`---`-separated JSON,
    // flow-style YAML), unless the text was meant as JSON: a `.json` file, or a text no
    // YAML reading accepts either, with no document separator, gets its JSON error.
    let yaml = parse_yaml(source, text);
    if looks_like_template(text) || has_separator(text) {
        return yaml;
    }
    if !source.ends_with(".json") && yaml.iter().all(|d| d.content.is_ok()) {
        return yaml;
    }
    whole
}

/// Whether a line of `text` separates YAML documents.
fn has_separator(text: &str) -> bool {
    text.lines()
        .any(|line| line == "---" || line.starts_with("--- ") || line == "...")
}

/// Whether `text` holds Go template actions (`{{ … }}`), as Helm's `templates/` do.
fn looks_like_template(text: &str) -> bool {
    text.find("{{")
        .is_some_and(|at| text.get(at..).is_some_and(|rest| rest.contains("}}")))
}

/// The message for a document that does not parse because it is a Go template.
fn template_error(source: &str, line: usize) -> String {
    format!(
        "{source}:{line}: a Go template ({{{{ … }}}}), not a manifest: render it first (helm template CHART | podsec check -)"
    )
}

/// JSON values one after another (JSON Lines, or values separated by any whitespace), each
/// a document starting on its own line; `None` unless the whole text is such a stream of
/// at least two values.
fn parse_json_stream(source: &str, text: &str) -> Option<Vec<Document>> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut documents = Vec::new();
    let mut end = 0;
    loop {
        let rest = text.get(end..)?;
        let start = end.saturating_add(rest.len().saturating_sub(rest.trim_start().len()));
        match stream.next() {
            None => break,
            Some(Err(_)) => return None,
            Some(Ok(value)) => {
                let line = text
                    .get(..start)
                    .map_or(1, |before| before.matches('\n').count().saturating_add(1));
                documents.push(Document::read(source, documents.len(), line, value));
                end = stream.byte_offset();
            }
        }
    }
    (documents.len() > 1).then_some(documents)
}

/// YAML documents separated by `---` lines.
fn parse_yaml(source: &str, text: &str) -> Vec<Document> {
    let mut documents = Vec::new();
    for (line, chunk) in yaml_chunks(text) {
        if chunk
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        // JSON is YAML; serde_json reads it several times faster than a YAML parser.
        if chunk.trim_start().starts_with('{') {
            if let Ok(value) = serde_json::from_str::<Value>(&chunk) {
                documents.push(Document::read(source, documents.len(), line, value));
                continue;
            }
        }
        let mut error_at = None;
        let content = serde_saphyr::from_str::<Value>(&chunk).map_err(|e| {
            let position = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize));
            error_at = Some(position.map_or((line, 1), |(l, c)| {
                (line.saturating_add(l.saturating_sub(1)), c.max(1))
            }));
            if looks_like_template(&chunk) {
                return template_error(source, line);
            }
            match position {
                Some((l, c)) => format!(
                    "{source}:{}:{c}: invalid YAML: {}",
                    line.saturating_add(l.saturating_sub(1)),
                    yaml_error_text(&e)
                ),
                None => format!("{source}:{line}: invalid YAML: {}", yaml_error_text(&e)),
            }
        });
        let content = match content {
            Ok(Value::Null) => continue,
            other => other,
        };
        documents.push(Document {
            source: source.to_owned(),
            index: documents.len(),
            line,
            content,
            error_at,
        });
    }
    documents
}

fn parse_json(source: &str, text: &str) -> Vec<Document> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| Document::read(source, index, 1, item))
            .collect(),
        Ok(value) => vec![Document::read(source, 0, 1, value)],
        Err(error) => vec![Document {
            source: source.to_owned(),
            index: 0,
            line: error.line(),
            content: Err(format!(
                "{source}:{}:{}: invalid JSON: {error}",
                error.line(),
                error.column()
            )),
            error_at: Some((error.line(), error.column().max(1))),
        }],
    }
}

/// The YAML documents of a stream with the line each starts on. A document ends at a
/// `---` or `...` line in column 0; content after `--- ` on the same line belongs to the
/// next document.
fn yaml_chunks(text: &str) -> Vec<(usize, String)> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let number = i.saturating_add(1);
        let is_start = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        let is_end = line == "..." || line.starts_with("... ");
        if is_start || is_end {
            chunks.push((start, std::mem::take(&mut current)));
            start = number;
            if is_start {
                // Keep the marker line (blank) so positions stay right.
                current.push_str(line.get(3..).unwrap_or(""));
                current.push('\n');
            } else {
                start = number.saturating_add(1);
            }
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    chunks.push((start, current));
    chunks
}

/// A YAML error in the user's words: the first line of serde-saphyr's text (it renders a
/// snippet after it), without its position (the caller gives the file's line and column)
/// and without advice meant for programmers using the parser.
pub fn yaml_error_text(error: &serde_saphyr::Error) -> String {
    let text = error.to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut message = first.trim().trim_start_matches("error: ");
    if let Some(rest) = message.strip_prefix("line ") {
        // `line N column M: …`
        if let Some((_, after)) = rest.split_once(": ") {
            message = after;
        }
    }
    plain_yaml_message(message)
}

fn plain_yaml_message(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("the key {key:?} appears twice in the same mapping");
    }
    let plain = match message {
        m if m.starts_with("multiple YAML documents detected") => {
            "several YAML documents where one was expected"
        }
        m if m.starts_with("tabs disallowed") => {
            "a tab in the indentation (YAML indents with spaces)"
        }
        "mapping values are not allowed in this context" => {
            "a ':' that cannot start a mapping here: check the indentation, or quote the value"
        }
        "while parsing a block collection, did not find expected '-' indicator" => {
            "a line at a list's indentation that is not a list item ('- ')"
        }
        "alias references unknown anchor" => {
            "an alias (*name) to an anchor (&name) defined nowhere"
        }
        other => other,
    };
    plain.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_streams_split_with_positions() {
        let text = "a: 1\n---\nb: 2\n--- \n# only a comment\n---\nc: [1\n---\nd: 4\n";
        let docs = parse_documents("f.yaml", text);
        assert_eq!(docs.len(), 4);
        assert_eq!(docs[0].content, Ok(serde_json::json!({"a": 1})));
        assert_eq!(docs[1].line, 2);
        let error = docs[2].content.clone().unwrap_err();
        assert!(
            error.starts_with("f.yaml:7:") || error.starts_with("f.yaml:8:"),
            "{error}"
        );
        assert!(
            matches!(docs[2].error_at, Some((7 | 8, _))),
            "{:?}",
            docs[2].error_at
        );
        assert_eq!(docs[3].content, Ok(serde_json::json!({"d": 4})));
        assert_eq!(docs[3].index, 3);
    }

    #[test]
    fn json_arrays_and_errors() {
        let docs = parse_documents("f.json", "[{\"a\": 1}, {\"b\": 2}]");
        assert_eq!(docs.len(), 2);
        let bad = parse_documents("f.json", "{\n  \"a\": ,\n}");
        let error = bad[0].content.clone().unwrap_err();
        assert!(error.starts_with("f.json:2:"), "{error}");
        assert_eq!(bad[0].error_at.map(|(line, _)| line), Some(2));
        assert_eq!(line_offset("a\nb\nc", 3), 4);
        assert_eq!(line_offset("a\nb", 9), 3);
    }

    fn contents(docs: &[Document]) -> Vec<Value> {
        docs.iter()
            .map(|d| d.content.clone().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    #[test]
    fn json_lines_are_documents_with_their_lines() {
        let text = "{\"kind\": \"Pod\", \"n\": 1}\n{\"kind\": \"Pod\", \"n\": 2}\n\n  {\"kind\": \"Pod\",\n \"n\": 3}\n";
        let docs = parse_documents("-", text);
        assert_eq!(contents(&docs).len(), 3);
        assert_eq!(docs.iter().map(|d| d.line).collect::<Vec<_>>(), [1, 2, 4]);
        assert_eq!(docs[2].index, 2);
    }

    #[test]
    fn json_between_separators_and_flow_style_yaml() {
        let text = "{\"kind\": \"Pod\"}\n---\n{\"kind\": \"Service\"}\n";
        let docs = parse_documents("f.json", text);
        assert_eq!(contents(&docs).len(), 2);
        assert_eq!(docs[1].line, 2);
        let flow = "{apiVersion: v1, kind: Pod, metadata: {name: web}}\n";
        let docs = parse_documents("f.yaml", flow);
        assert_eq!(contents(&docs)[0]["metadata"]["name"], "web");
        let flow_stream = "{apiVersion: v1, kind: Namespace, metadata: {name: a}}\n---\n{apiVersion: v1, kind: Pod}\n";
        assert_eq!(contents(&parse_documents("f.yaml", flow_stream)).len(), 2);
    }

    #[test]
    fn broken_json_keeps_its_json_error_and_templates_say_so() {
        let bad = parse_documents("f.json", "{\"kind\": \"Pod\",\n  \"spec\": }\n");
        let error = bad[0].content.clone().unwrap_err();
        assert!(
            error.starts_with("f.json:2:") && error.contains("invalid JSON"),
            "{error}"
        );
        let template = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n  labels: {}\n{{- end }}\n";
        let docs = parse_documents("templates/pod.yaml", template);
        let error = docs[0].content.clone().unwrap_err();
        assert!(error.contains("a Go template"), "{error}");
        assert!(error.contains("helm template"), "{error}");
        let json_template = "{\"name\": {{ .Values.name | quote }}}\n";
        let error = parse_documents("t.json", json_template)[0]
            .content
            .clone()
            .unwrap_err();
        assert!(error.contains("a Go template"), "{error}");
    }

    #[test]
    fn yaml_errors_are_in_plain_words_with_the_position_once() {
        let docs = parse_documents("f.yaml", "a: 1\n---\nkind: Pod\nkind: Service\n");
        let error = docs[1].content.clone().unwrap_err();
        assert_eq!(
            error,
            "f.yaml:4:1: invalid YAML: the key \"kind\" appears twice in the same mapping"
        );
        let tab = parse_documents("f.yaml", "a:\n\t- b\n")[0]
            .content
            .clone()
            .unwrap_err();
        assert!(
            tab.ends_with("a tab in the indentation (YAML indents with spaces)"),
            "{tab}"
        );
        assert!(!tab.contains("line 2 column"), "{tab}");
    }
}
