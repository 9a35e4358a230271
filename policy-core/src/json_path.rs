//! Where in a JSON document an error is: the field path (`spec.containers[0].image`) at a
//! line and column serde_json reported. A small scanner instead of path-tracking
//! deserialization, which would double the module's deserializer code.

enum Frame {
    Object {
        key: Option<String>,
        expecting_key: bool,
    },
    Array {
        index: usize,
    },
}

/// The byte offset of 1-based `line` and `column` in `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0usize;
    for (number, content) in text.split_inclusive('\n').enumerate() {
        if number.saturating_add(1) == line {
            return offset.saturating_add(column).min(text.len());
        }
        offset = offset.saturating_add(content.len());
    }
    text.len()
}

/// The path of the value that ends at or contains `line:column` of `text`, e.g.
/// `spec.containers[0].securityContext.privileged`; empty at the top level.
pub fn path_at(text: &str, line: usize, column: usize) -> String {
    let end = offset_of(text, line, column);
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut at = 0usize;
    while at < end {
        let Some(&byte) = bytes.get(at) else { break };
        match byte {
            b'{' => stack.push(Frame::Object {
                key: None,
                expecting_key: true,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Frame::Object { expecting_key, .. }) = stack.last_mut() {
                    *expecting_key = false;
                }
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { expecting_key, .. }) => *expecting_key = true,
                Some(Frame::Array { index }) => *index = index.saturating_add(1),
                None => {}
            },
            b'"' => {
                let start = at.saturating_add(1);
                let mut cursor = start;
                while let Some(&b) = bytes.get(cursor) {
                    match b {
                        b'\\' => cursor = cursor.saturating_add(2),
                        b'"' => break,
                        _ => cursor = cursor.saturating_add(1),
                    }
                }
                if let Some(Frame::Object {
                    key,
                    expecting_key: true,
                }) = stack.last_mut()
                {
                    *key = text.get(start..cursor).map(str::to_owned);
                }
                at = cursor;
            }
            _ => {}
        }
        at = at.saturating_add(1);
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of_error(json: &str) -> String {
        #[derive(serde::Deserialize)]
        #[expect(
            dead_code,
            reason = "the fields exist to be deserialized; only the error is read"
        )]
        struct Pod {
            spec: Spec,
        }
        #[derive(serde::Deserialize)]
        #[expect(
            dead_code,
            reason = "the fields exist to be deserialized; only the error is read"
        )]
        struct Spec {
            containers: Vec<Container>,
        }
        #[derive(serde::Deserialize)]
        #[expect(
            dead_code,
            reason = "the fields exist to be deserialized; only the error is read"
        )]
        struct Container {
            name: String,
            privileged: Option<bool>,
        }
        match serde_json::from_str::<Pod>(json) {
            Ok(_) => String::new(),
            Err(e) => path_at(json, e.line(), e.column()),
        }
    }

    #[test]
    fn paths_of_type_errors() {
        let json = r#"{"metadata": {"name": "x"}, "spec": {"containers": [{"name": "a"}, {"name": "b", "privileged": "yes"}]}}"#;
        assert_eq!(path_of_error(json), "spec.containers[1].privileged");
        let pretty = "{\n  \"spec\": {\n    \"containers\": [\n      {\"name\": 5}\n    ]\n  }\n}";
        assert_eq!(path_of_error(pretty), "spec.containers[0].name");
        let escaped = r#"{"spec": {"containers": [{"name": "a\"b", "privileged": 1}]}}"#;
        assert_eq!(path_of_error(escaped), "spec.containers[0].privileged");
    }
}
