//! Small serde helpers: Kubernetes JSON writes `null` for empty lists and maps, and the
//! checks want annotations and labels as ordered pairs rather than a hash map.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// Deserializes a list that may be `null` or missing as an empty `Vec`.
pub(crate) fn nullable_vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Deserializes an optional string, borrowing it from the input when it has no escapes.
/// (serde's own `Option<Cow<str>>` copies every string, `#[serde(borrow)]` or not.)
pub(crate) fn optional_str<'de, D>(deserializer: D) -> Result<Option<Cow<'de, str>>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<BorrowedStr<'de>>::deserialize(deserializer)?.map(|s| s.0))
}

/// Deserializes a list of strings that may be `null` or missing, borrowing each string
/// from the input when it has no escapes. A `null` element is the empty string, as the API
/// server (Go's encoding/json) decodes it.
pub(crate) fn string_list<'de, D>(deserializer: D) -> Result<Vec<Cow<'de, str>>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(nullable_vec::<D, GoStr<'de>>(deserializer)?
        .into_iter()
        .map(|s| s.0)
        .collect())
}

/// A string-to-string map (labels, annotations) kept as pairs in document order.
pub type StringPairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// Deserializes a `map[string]string` (or `null`) into pairs.
pub(crate) fn string_pairs<'de, D>(deserializer: D) -> Result<StringPairs<'de>, D::Error>
where
    D: Deserializer<'de>,
{
    struct PairsVisitor<'de>(PhantomData<&'de ()>);

    impl<'de> Visitor<'de> for PairsVisitor<'de> {
        type Value = StringPairs<'de>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of strings")
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_some<D>(self, deserializer: D) -> Result<Self::Value, D::Error>
        where
            D: Deserializer<'de>,
        {
            deserializer.deserialize_map(self)
        }

        fn visit_map<A>(self, mut map: A) -> Result<Self::Value, A::Error>
        where
            A: MapAccess<'de>,
        {
            let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
            while let Some((key, value)) = map.next_entry::<BorrowedStr<'de>, GoStr<'de>>()? {
                pairs.push((key.0, value.0));
            }
            Ok(pairs)
        }
    }

    deserializer.deserialize_option(PairsVisitor(PhantomData))
}

/// A string that borrows from the input when it has no escapes.
pub(crate) struct BorrowedStr<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for BorrowedStr<'de> {
    fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
    where
        D: Deserializer<'de>,
    {
        struct StrVisitor;

        impl<'de> Visitor<'de> for StrVisitor {
            type Value = BorrowedStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v)))
            }
        }

        deserializer.deserialize_str(StrVisitor)
    }
}

/// A string as Go's encoding/json reads one into a `string` element of a list or map:
/// `null` leaves the zero value, the empty string.
pub(crate) struct GoStr<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for GoStr<'de> {
    fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
    where
        D: Deserializer<'de>,
    {
        Ok(GoStr(
            Option::<BorrowedStr<'de>>::deserialize(deserializer)?
                .map_or(Cow::Borrowed(""), |s| s.0),
        ))
    }
}
