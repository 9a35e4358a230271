//! The path of a field in an object, written the way Kubernetes writes field errors
//! (`k8s.io/apimachinery/pkg/util/validation/field.Path`, which PSA's checks use):
//! fields joined by dots, list indices and map keys in brackets, keys unquoted —
//! `spec.containers[0].securityContext.privileged`,
//! `metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]`.
//!
//! The checks build paths with [`FieldPath::child`], [`FieldPath::index`] and
//! [`FieldPath::key`]; JSON carries the rendered text; the locator reads it back with
//! [`FieldPath::segments`]. One rule, in this file.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Room for `[N]`: brackets and the 20 digits of the largest index.
const INDEX_ROOM: usize = 22;

/// Appends `[index]` (written by hand: `format!`'s machinery costs more than the path).
/// Out of line: the checks build paths in many places.
#[inline(never)]
fn push_index(path: &mut String, index: usize) {
    path.push('[');
    push_decimal(path, u64::try_from(index).unwrap_or(u64::MAX), false);
    path.push(']');
}

/// Appends `magnitude` in decimal, after a `-` when `negative`: what Go's `strconv.Itoa`
/// and Rust's `Display` write for integers.
pub(crate) fn push_decimal(out: &mut String, magnitude: u64, negative: bool) {
    // u64::MAX has 20 digits; they are written from the right.
    let mut digits = ['0'; 20];
    let mut rest = magnitude;
    let mut used = 0;
    for (count, slot) in (1..).zip(digits.iter_mut().rev()) {
        *slot = char::from_digit(u32::try_from(rest % 10).unwrap_or(0), 10).unwrap_or('0');
        rest /= 10;
        used = count;
        if rest == 0 {
            break;
        }
    }
    if negative {
        out.push('-');
    }
    out.extend(digits.iter().skip(digits.len().saturating_sub(used)));
}

/// A field path; see the module docs for its form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldPath(String);

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A field name or map key.
    Key(String),
    /// A list index.
    Index(usize),
}

impl FieldPath {
    /// A path from its text, e.g. `spec` or `spec.template.spec`.
    pub fn new(fields: &str) -> FieldPath {
        FieldPath(fields.to_owned())
    }

    /// The empty path (the object itself).
    pub fn root() -> FieldPath {
        FieldPath(String::new())
    }

    /// `parent.field` from text, in one allocation (`field` may hold several dotted names).
    pub fn of(parent: &str, field: &str) -> FieldPath {
        let mut path =
            String::with_capacity(parent.len().saturating_add(field.len()).saturating_add(1));
        path.push_str(parent);
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(field);
        FieldPath(path)
    }

    /// Item `index` of list `list` below `parent`, in one allocation:
    /// `spec.containers[1]`.
    pub fn item(parent: &str, list: &str, index: usize) -> FieldPath {
        let mut path = String::with_capacity(
            parent
                .len()
                .saturating_add(list.len())
                .saturating_add(INDEX_ROOM),
        );
        path.push_str(parent);
        path.push('.');
        path.push_str(list);
        push_index(&mut path, index);
        FieldPath(path)
    }

    /// The path below this one: `name` is one field, or several joined by dots
    /// (`securityContext.privileged`).
    pub fn child(&self, name: &str) -> FieldPath {
        FieldPath::of(&self.0, name)
    }

    /// Item `index` of the list at this path.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut path = String::with_capacity(self.0.len().saturating_add(INDEX_ROOM));
        path.push_str(&self.0);
        push_index(&mut path, index);
        FieldPath(path)
    }

    /// Entry `key` of the map at this path (annotations, labels). Keys are written as
    /// they are, as Kubernetes writes them; Kubernetes keys never hold `]`.
    pub fn key(&self, key: &str) -> FieldPath {
        FieldPath(format!("{}[{key}]", self.0))
    }

    /// This path read from inside the object at `prefix` (a `List` item, an
    /// AdmissionReview's `request.object`): `prefix` followed by this path.
    pub fn under(&self, prefix: &FieldPath) -> FieldPath {
        match (prefix.0.is_empty(), self.0.is_empty()) {
            (true, _) => self.clone(),
            (_, true) => prefix.clone(),
            _ if self.0.starts_with('[') => FieldPath(format!("{}{}", prefix.0, self.0)),
            _ => prefix.child(&self.0),
        }
    }

    /// The rendered text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The steps, or `None` for text that is not a well-formed path. A bracket holding
    /// only digits is an index, anything else a key.
    pub fn segments(&self) -> Option<Vec<Segment>> {
        let mut segments = Vec::new();
        let mut rest = self.0.as_str();
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('[') {
                let end = inner.find(']')?;
                let text = inner.get(..end)?;
                segments.push(match text.parse::<usize>() {
                    Ok(index) if text.bytes().all(|b| b.is_ascii_digit()) => Segment::Index(index),
                    _ if text.is_empty() => return None,
                    _ => Segment::Key(text.to_owned()),
                });
                rest = inner.get(end.saturating_add(1)..)?;
                rest = rest.strip_prefix('.').unwrap_or(rest);
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let name = rest.get(..end)?;
                if name.is_empty() {
                    return None;
                }
                segments.push(Segment::Key(name.to_owned()));
                rest = rest.get(end..)?;
                rest = rest.strip_prefix('.').unwrap_or(rest);
            }
        }
        Some(segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for FieldPath {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for FieldPath {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Segment {
        Segment::Key(name.to_owned())
    }

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        for n in [0, 7, 10, 9100, -1, -65535, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_decimal(&mut out, n.unsigned_abs(), n < 0);
            assert_eq!(out, n.to_string());
        }
        let mut out = String::from("x");
        push_decimal(&mut out, u64::MAX, false);
        assert_eq!(out, format!("x{}", u64::MAX));
        assert_eq!(
            FieldPath::item("spec", "volumes", 12).as_str(),
            "spec.volumes[12]"
        );
    }

    #[test]
    fn paths_render_as_kubernetes_field_errors() {
        let spec = FieldPath::new("spec");
        let container = spec.child("containers").index(1);
        assert_eq!(
            container.child("securityContext.privileged").as_str(),
            "spec.containers[1].securityContext.privileged"
        );
        let annotation = FieldPath::new("metadata")
            .child("annotations")
            .key("container.apparmor.security.beta.kubernetes.io/app");
        assert_eq!(
            annotation.as_str(),
            "metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]"
        );
        assert_eq!(FieldPath::root().child("spec").as_str(), "spec");
        assert_eq!(FieldPath::item("spec", "containers", 1), container);
        assert_eq!(FieldPath::of("spec", "hostPID").as_str(), "spec.hostPID");
        let item = FieldPath::root().child("items").index(2);
        assert_eq!(
            FieldPath::new("spec.hostPID").under(&item).as_str(),
            "items[2].spec.hostPID"
        );
        assert_eq!(FieldPath::new("spec").under(&FieldPath::root()), spec);
    }

    #[test]
    fn rendered_paths_read_back_into_their_steps() {
        let path = FieldPath::new("spec")
            .child("containers")
            .index(1)
            .child("securityContext.privileged");
        assert_eq!(
            path.segments(),
            Some(vec![
                key("spec"),
                key("containers"),
                Segment::Index(1),
                key("securityContext"),
                key("privileged")
            ])
        );
        let annotation = FieldPath::new("metadata")
            .child("annotations")
            .key("a.b/c\"d");
        assert_eq!(
            annotation.segments(),
            Some(vec![key("metadata"), key("annotations"), key("a.b/c\"d")])
        );
        assert_eq!(
            FieldPath::new("items[0][1]").segments(),
            Some(vec![key("items"), Segment::Index(0), Segment::Index(1)])
        );
        assert_eq!(FieldPath::new("spec.containers[1").segments(), None);
        assert_eq!(FieldPath::new("spec..x").segments(), None);
        assert_eq!(FieldPath::new("spec[]").segments(), None);
    }
}
