//! Kubernetes label selectors (`matchLabels`, `matchExpressions`), as in
//! <https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements>.

use crate::deser::StringPairs;

/// A set-based requirement operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// The label's value is one of the values.
    In,
    /// The label is absent or its value is none of the values.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub operator: Operator,
    /// The values (`In`, `NotIn`).
    pub values: Vec<String>,
}

/// A label selector; an empty one matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// `matchLabels`: every pair must be present.
    pub match_labels: Vec<(String, String)>,
    /// `matchExpressions`: every requirement must hold.
    pub match_expressions: Vec<Requirement>,
}

impl LabelSelector {
    /// Whether `labels` satisfy the selector.
    pub fn matches(&self, labels: &StringPairs<'_>) -> bool {
        let get = |key: &str| {
            labels
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_ref())
        };
        let labels_match = self
            .match_labels
            .iter()
            .all(|(key, value)| get(key) == Some(value.as_str()));
        labels_match
            && self.match_expressions.iter().all(|req| {
                let value = get(&req.key);
                match req.operator {
                    Operator::In => value.is_some_and(|v| req.values.iter().any(|x| x == v)),
                    Operator::NotIn => !value.is_some_and(|v| req.values.iter().any(|x| x == v)),
                    Operator::Exists => value.is_some(),
                    Operator::DoesNotExist => value.is_none(),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn labels(pairs: &[(&'static str, &'static str)]) -> StringPairs<'static> {
        pairs
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v)))
            .collect()
    }

    #[test]
    fn selectors_match_like_kubernetes() {
        let selector = LabelSelector {
            match_labels: vec![("app".into(), "web".into())],
            match_expressions: vec![
                Requirement {
                    key: "tier".into(),
                    operator: Operator::In,
                    values: vec!["front".into(), "edge".into()],
                },
                Requirement {
                    key: "legacy".into(),
                    operator: Operator::DoesNotExist,
                    values: vec![],
                },
            ],
        };
        assert!(selector.matches(&labels(&[("app", "web"), ("tier", "edge")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "back")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "edge"), ("legacy", "")])));
        assert!(!selector.matches(&labels(&[("tier", "edge")])));
        assert!(LabelSelector::default().matches(&labels(&[])));
        let not_in = LabelSelector {
            match_labels: vec![],
            match_expressions: vec![Requirement {
                key: "env".into(),
                operator: Operator::NotIn,
                values: vec!["dev".into()],
            }],
        };
        assert!(not_in.matches(&labels(&[])));
        assert!(!not_in.matches(&labels(&[("env", "dev")])));
    }
}
