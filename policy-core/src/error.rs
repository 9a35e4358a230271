//! The errors podsec reports for input it cannot evaluate.

use std::fmt;

/// Why a request, an object or a settings document could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not the JSON document expected (syntax, types or structure).
    InvalidRequest(String),
    /// The admission request names a kind podsec evaluates, but the object in it is unusable.
    InvalidObject(String),
    /// The settings document is invalid; the message names the field.
    InvalidSettings(String),
    /// The input is larger than podsec accepts.
    TooLarge(String),
}

impl Error {
    /// The human-readable message without the category prefix.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidRequest(m)
            | Error::InvalidObject(m)
            | Error::InvalidSettings(m)
            | Error::TooLarge(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            Error::InvalidObject(m) => write!(f, "invalid object: {m}"),
            Error::InvalidSettings(m) => write!(f, "invalid settings: {m}"),
            Error::TooLarge(m) => write!(f, "input too large: {m}"),
        }
    }
}

impl std::error::Error for Error {}
