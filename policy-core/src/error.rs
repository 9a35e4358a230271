//! The errors podsec reports for input it cannot evaluate.

use crate::field_path::FieldPath;
use std::fmt;

/// Invalid settings: what is wrong, and where in the settings document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// The field at fault, e.g. `allowedHostPaths[0].pathPrefix` (empty: the document).
    pub path: FieldPath,
    /// What is wrong; it names the field and what it accepts.
    pub message: String,
}

/// Why a request, an object or a settings document could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not the JSON document expected (syntax, types or structure).
    InvalidRequest(String),
    /// The admission request names a kind podsec evaluates, but the object in it is unusable.
    InvalidObject(String),
    /// The settings document is invalid; the message names the field.
    InvalidSettings(SettingsError),
    /// The input is larger than podsec accepts.
    TooLarge(String),
}

impl Error {
    /// For invalid settings, the path of the field at fault.
    pub fn settings_path(&self) -> Option<&FieldPath> {
        match self {
            Error::InvalidSettings(e) => Some(&e.path),
            _ => None,
        }
    }

    /// The human-readable message without the category prefix.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidRequest(m) | Error::InvalidObject(m) | Error::TooLarge(m) => m,
            Error::InvalidSettings(e) => &e.message,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            Error::InvalidObject(m) => write!(f, "invalid object: {m}"),
            Error::InvalidSettings(e) => write!(f, "invalid settings: {}", e.message),
            Error::TooLarge(m) => write!(f, "input too large: {m}"),
        }
    }
}

impl std::error::Error for Error {}
