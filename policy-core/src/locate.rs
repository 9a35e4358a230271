//! Finding the line a violation's field path points at in the text a person wrote, so the
//! playground (and any editor integration) can mark it. Works on YAML and on JSON (which
//! is YAML) through the parser's event stream, without building a tree.
//! Needs the `yaml` feature.

use serde_saphyr::granit_parser::{Event, Parser, Span};

/// Where a path points in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Whether the whole path exists; `false` when the field is missing (a required field
    /// left out) and the location is that of its nearest existing parent.
    pub exact: bool,
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Splits a field path as podsec writes it (`spec.containers[0].securityContext.privileged`,
/// `metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"]`) into its
/// steps. `None` for a path that is not well formed.
pub fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut chars = path.chars().peekable();
    let mut key = String::new();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !key.is_empty() {
                    segments.push(Segment::Key(std::mem::take(&mut key)));
                }
            }
            '[' => {
                if !key.is_empty() {
                    segments.push(Segment::Key(std::mem::take(&mut key)));
                }
                if chars.peek() == Some(&'"') {
                    chars.next();
                    let mut quoted = String::new();
                    loop {
                        match chars.next()? {
                            '"' => break,
                            '\\' => quoted.push(chars.next()?),
                            other => quoted.push(other),
                        }
                    }
                    if chars.next()? != ']' {
                        return None;
                    }
                    segments.push(Segment::Key(quoted));
                } else {
                    let mut digits = String::new();
                    loop {
                        match chars.next()? {
                            ']' => break,
                            d if d.is_ascii_digit() => digits.push(d),
                            _ => return None,
                        }
                    }
                    segments.push(Segment::Index(digits.parse().ok()?));
                }
            }
            other => key.push(other),
        }
    }
    if !key.is_empty() {
        segments.push(Segment::Key(key));
    }
    Some(segments)
}

/// The location of `path` in the first document of `text`, a document that starts on line
/// `first_line` of the whole input (so the result is a line of the whole input). A document
/// whose root is a sequence is a JSON array of objects; `item` picks the object in it.
/// `None` when the text cannot be read as far as the document's root.
pub fn locate(text: &str, first_line: usize, item: usize, path: &str) -> Option<Location> {
    let mut segments = parse_path(path)?;
    let mut events = Parser::new_from_str(text).map_while(Result::ok);
    let root = loop {
        let (event, span) = events.next()?;
        match event {
            Event::StreamStart | Event::DocumentStart(..) => continue,
            Event::StreamEnd | Event::DocumentEnd => return None,
            _ => break (event, span),
        }
    };
    if matches!(root.0, Event::SequenceStart(..)) {
        segments.insert(0, Segment::Index(item));
    }
    let offset = first_line.saturating_sub(1);
    let at = |span: &Span, exact: bool| Location {
        line: span.start.line().saturating_add(offset),
        column: span.start.col().saturating_add(1),
        exact,
    };
    let (mut node, mut mark) = (root.0, root.1);
    for segment in &segments {
        let found = match (&node, segment) {
            (Event::MappingStart(..), Segment::Key(key)) => find_key(&mut events, key),
            (Event::SequenceStart(..), Segment::Index(index)) => find_item(&mut events, *index),
            _ => None,
        };
        match found {
            Some((next, span)) => {
                mark = span;
                node = next;
            }
            None => return Some(at(&mark, false)),
        }
    }
    Some(at(&mark, true))
}

/// Inside a mapping (its start consumed): the value event of `key` and the key's span.
fn find_key<'t>(
    events: &mut impl Iterator<Item = (Event<'t>, Span)>,
    key: &str,
) -> Option<(Event<'t>, Span)> {
    loop {
        let (event, span) = events.next()?;
        match event {
            Event::MappingEnd => return None,
            Event::Scalar(ref text, ..) if text == key => {
                let (value, _) = events.next()?;
                return Some((value, span));
            }
            other => {
                skip(events, &other)?;
                let (value, _) = events.next()?;
                skip(events, &value)?;
            }
        }
    }
}

/// Inside a sequence (its start consumed): the event and span of item `index`.
fn find_item<'t>(
    events: &mut impl Iterator<Item = (Event<'t>, Span)>,
    index: usize,
) -> Option<(Event<'t>, Span)> {
    let mut position = 0usize;
    loop {
        let (event, span) = events.next()?;
        if matches!(event, Event::SequenceEnd) {
            return None;
        }
        if position == index {
            return Some((event, span));
        }
        skip(events, &event)?;
        position = position.saturating_add(1);
    }
}

/// Consumes the rest of the node `first` starts (nothing for a scalar or alias).
fn skip<'t>(events: &mut impl Iterator<Item = (Event<'t>, Span)>, first: &Event<'t>) -> Option<()> {
    if !matches!(first, Event::MappingStart(..) | Event::SequenceStart(..)) {
        return Some(());
    }
    let mut depth = 1usize;
    while depth > 0 {
        match events.next()?.0 {
            Event::MappingStart(..) | Event::SequenceStart(..) => depth = depth.saturating_add(1),
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    container.apparmor.security.beta.kubernetes.io/app: unconfined
spec:
  containers:
    - name: sidecar
      image: busybox
    - name: app
      image: nginx
      securityContext:
        privileged: true
";

    #[test]
    fn paths_split_into_steps() {
        assert_eq!(
            parse_path("spec.containers[1].securityContext.privileged"),
            Some(vec![
                Segment::Key("spec".into()),
                Segment::Key("containers".into()),
                Segment::Index(1),
                Segment::Key("securityContext".into()),
                Segment::Key("privileged".into()),
            ])
        );
        assert_eq!(
            parse_path(r#"metadata.annotations["a.b/c\"d"]"#),
            Some(vec![
                Segment::Key("metadata".into()),
                Segment::Key("annotations".into()),
                Segment::Key("a.b/c\"d".into()),
            ])
        );
        assert_eq!(parse_path("spec.containers[x]"), None);
        assert_eq!(parse_path("spec.containers[1"), None);
    }

    #[test]
    fn fields_are_found_on_their_line() {
        let at = locate(POD, 1, 0, "spec.containers[1].securityContext.privileged").unwrap();
        assert_eq!((at.line, at.column, at.exact), (14, 9, true));
        let at = locate(
            POD,
            1,
            0,
            r#"metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"]"#,
        )
        .unwrap();
        assert_eq!((at.line, at.exact), (6, true));
        let at = locate(POD, 1, 0, "spec.containers[0]").unwrap();
        assert_eq!((at.line, at.exact), (9, true));
    }

    #[test]
    fn missing_fields_point_at_their_nearest_parent() {
        let at = locate(POD, 1, 0, "spec.containers[1].securityContext.runAsNonRoot").unwrap();
        assert_eq!((at.line, at.exact), (13, false));
        let at = locate(POD, 1, 0, "spec.containers[0].securityContext.runAsNonRoot").unwrap();
        assert_eq!((at.line, at.exact), (9, false));
        let at = locate(POD, 1, 0, "spec.containers[7]").unwrap();
        assert_eq!((at.line, at.exact), (8, false));
    }

    #[test]
    fn later_documents_and_json_arrays() {
        let at = locate("kind: Pod\nspec:\n  hostPID: true\n", 10, 0, "spec.hostPID").unwrap();
        assert_eq!(at.line, 12);
        let json = "[\n {\"spec\": {}},\n {\"spec\": {\n   \"hostPID\": true}}\n]";
        let at = locate(json, 1, 1, "spec.hostPID").unwrap();
        assert_eq!((at.line, at.exact), (4, true));
        assert_eq!(locate("", 1, 0, "spec"), None);
        assert_eq!(locate("a: [1", 1, 0, "a").map(|l| l.line), Some(1));
    }
}
