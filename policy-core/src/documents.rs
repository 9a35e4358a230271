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

/// Splits text into documents: JSON (one value; an array gives its items) when it starts
/// with `{` or `[`, otherwise YAML separated by `---` lines.
pub fn parse_documents(source: &str, text: &str) -> Vec<Document> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return parse_json(source, text);
    }
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
                documents.push(Document {
                    source: source.to_owned(),
                    index: documents.len(),
                    line,
                    content: Ok(value),
                    error_at: None,
                });
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
            .map(|(index, item)| Document {
                source: source.to_owned(),
                index,
                line: 1,
                content: Ok(item),
                error_at: None,
            })
            .collect(),
        Ok(value) => vec![Document {
            source: source.to_owned(),
            index: 0,
            line: 1,
            content: Ok(value),
            error_at: None,
        }],
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

/// The first line of a YAML error's text (serde-saphyr renders a snippet after it).
pub fn yaml_error_text(error: &serde_saphyr::Error) -> String {
    let text = error.to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.trim().trim_start_matches("error: ").to_owned()
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
}
