//! Finding the line a violation's field path points at in the text a person wrote, so the
//! playground (and any editor integration) can mark it. Works on YAML and on JSON (which
//! is YAML) through the parser's event stream, without building a tree.
//! Needs the `yaml` feature.

use serde_saphyr::granit_parser::{Event, Parser, Span};
use std::collections::HashMap;

pub use crate::response::Location;

use crate::field_path::FieldPath;
pub use crate::field_path::Segment;

/// Paths deeper than this are not indexed (podsec's field paths are a dozen steps at most);
/// a violation below it points at its deepest indexed parent. Keeps the index linear in
/// the document's size however deep the document nests.
const MAX_INDEXED_DEPTH: usize = 64;

/// Every node of one document by its path, built in one pass over the parser's events, so
/// that any number of violations are located without reading the text again.
#[derive(Debug, Clone)]
pub struct Locator {
    nodes: HashMap<Vec<Segment>, Location>,
    root: Location,
    root_is_sequence: bool,
}

/// What the walk is inside of.
enum Frame {
    /// A mapping: the key whose value comes next, with its position (`None` when the next
    /// event is a key, or when the key is not a plain scalar), and whether a key comes next.
    Mapping {
        key: Option<(String, Location)>,
        expecting_key: bool,
        indexed: bool,
    },
    /// A sequence and the index of its next item.
    Sequence { next: usize, indexed: bool },
    /// A node that is not indexed (a complex key, or past the depth limit): its nesting
    /// depth so far, and whether it is a mapping key.
    Skip { depth: usize, key: bool },
}

impl Locator {
    /// Indexes the first document of `text`, a document that starts on line `first_line`
    /// of the whole input (so locations are lines of the whole input). `None` when the
    /// text cannot be read as far as the document's root; a later syntax error ends the
    /// index where it is.
    pub fn new(text: &str, first_line: usize) -> Option<Locator> {
        let offset = first_line.saturating_sub(1);
        let at = |span: &Span| Location {
            line: span.start.line().saturating_add(offset),
            column: span.start.col().saturating_add(1),
            exact: true,
        };
        let mut events = Parser::new_from_str(text).map_while(Result::ok);
        let (first, span) = loop {
            let (event, span) = events.next()?;
            match event {
                Event::StreamStart | Event::DocumentStart(..) => continue,
                Event::StreamEnd | Event::DocumentEnd => return None,
                _ => break (event, span),
            }
        };
        let mut locator = Locator {
            nodes: HashMap::new(),
            root: at(&span),
            root_is_sequence: matches!(first, Event::SequenceStart(..)),
        };
        let mut path: Vec<Segment> = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut pending = Some((first, span));
        while let Some((event, span)) = pending.take().or_else(|| events.next()) {
            if matches!(event, Event::DocumentEnd | Event::StreamEnd) {
                break;
            }
            let opens = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
            let closes = matches!(event, Event::MappingEnd | Event::SequenceEnd);
            if let Some(Frame::Skip { depth, key }) = stack.last_mut() {
                if opens {
                    *depth = depth.saturating_add(1);
                } else if closes {
                    *depth = depth.saturating_sub(1);
                    if *depth == 0 {
                        let was_key = *key;
                        stack.pop();
                        if !was_key {
                            value_done(&mut stack);
                        }
                    }
                }
                continue;
            }
            if closes {
                if let Some(
                    Frame::Mapping { indexed: true, .. } | Frame::Sequence { indexed: true, .. },
                ) = stack.pop()
                {
                    path.pop();
                }
                value_done(&mut stack);
                continue;
            }
            // A node: a mapping key, or a value in a mapping, a sequence or the root.
            let step = match stack.last_mut() {
                Some(Frame::Mapping {
                    key,
                    expecting_key: expecting @ true,
                    ..
                }) => {
                    *expecting = false;
                    if let Event::Scalar(text, ..) = &event {
                        *key = Some((text.to_string(), at(&span)));
                    } else if opens {
                        stack.push(Frame::Skip {
                            depth: 1,
                            key: true,
                        });
                    }
                    continue;
                }
                Some(Frame::Mapping { key, .. }) => key.take().map(|(k, l)| (Segment::Key(k), l)),
                Some(Frame::Sequence { next, .. }) => {
                    let index = *next;
                    *next = next.saturating_add(1);
                    Some((Segment::Index(index), at(&span)))
                }
                Some(Frame::Skip { .. }) | None => None,
            };
            let indexed = match step {
                Some((segment, location)) if path.len() < MAX_INDEXED_DEPTH => {
                    path.push(segment);
                    locator.nodes.insert(path.clone(), location);
                    true
                }
                _ => false,
            };
            if !opens {
                if indexed {
                    path.pop();
                }
                value_done(&mut stack);
            } else if indexed || stack.is_empty() {
                stack.push(match event {
                    Event::MappingStart(..) => Frame::Mapping {
                        key: None,
                        expecting_key: true,
                        indexed,
                    },
                    _ => Frame::Sequence { next: 0, indexed },
                });
            } else {
                stack.push(Frame::Skip {
                    depth: 1,
                    key: false,
                });
            }
        }
        Some(locator)
    }

    /// Where `path` is. A document whose root is a sequence is a JSON array of objects;
    /// `item` picks the object in it. A path that does not exist gives its nearest
    /// existing parent with `exact: false`; `None` for a path that is not well formed.
    pub fn locate(&self, item: usize, path: &FieldPath) -> Option<Location> {
        let mut segments = path.segments()?;
        if self.root_is_sequence {
            segments.insert(0, Segment::Index(item));
        }
        let mut exact = true;
        loop {
            if segments.is_empty() {
                return Some(Location {
                    exact: false,
                    ..self.root
                });
            }
            if let Some(found) = self.nodes.get(&segments) {
                return Some(Location { exact, ..*found });
            }
            segments.pop();
            exact = false;
        }
    }
}

/// After a value: the mapping it belongs to expects a key again.
fn value_done(stack: &mut [Frame]) {
    if let Some(Frame::Mapping { expecting_key, .. }) = stack.last_mut() {
        *expecting_key = true;
    }
}

/// The location of `path` in the first document of `text` (see [`Locator`]; build one
/// `Locator` to look up many paths).
pub fn locate(text: &str, first_line: usize, item: usize, path: &str) -> Option<Location> {
    Locator::new(text, first_line)?.locate(item, &FieldPath::new(path))
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
    fn fields_are_found_on_their_line() {
        let at = locate(POD, 1, 0, "spec.containers[1].securityContext.privileged").unwrap();
        assert_eq!((at.line, at.column, at.exact), (14, 9, true));
        let at = locate(
            POD,
            1,
            0,
            "metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]",
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

    #[test]
    fn one_index_serves_many_paths_and_odd_keys_are_skipped() {
        let text = "spec:\n  ? [complex, key]\n  : {hidden: 1}\n  base: &b {x: 1}\n  again: *b\n  containers:\n    - name: a\n      securityContext: {privileged: true}\n";
        let index = Locator::new(text, 1).unwrap();
        let at = index
            .locate(
                0,
                &FieldPath::new("spec.containers[0].securityContext.privileged"),
            )
            .unwrap();
        assert_eq!((at.line, at.exact), (8, true));
        assert_eq!(
            index
                .locate(0, &FieldPath::new("spec.again"))
                .map(|l| (l.line, l.exact)),
            Some((5, true))
        );
        assert_eq!(
            index
                .locate(0, &FieldPath::new("spec.again.x"))
                .map(|l| (l.line, l.exact)),
            Some((5, false))
        );
        assert_eq!(
            index
                .locate(0, &FieldPath::new("nothing"))
                .map(|l| (l.line, l.exact)),
            Some((1, false))
        );
    }

    #[test]
    fn deep_documents_are_indexed_only_to_the_depth_limit() {
        // Deeper than the index goes (the YAML parser itself stops at a few hundred levels).
        let depth = 200;
        let text = format!(
            "spec:\n  deep: {}{}\n  hostPID: true\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let index = Locator::new(&text, 1).unwrap();
        assert!(
            index.nodes.len() <= MAX_INDEXED_DEPTH + 3,
            "{}",
            index.nodes.len()
        );
        assert_eq!(
            index
                .locate(0, &FieldPath::new("spec.hostPID"))
                .map(|l| l.line),
            Some(3)
        );
    }
}
