//! `podsec check`'s manifest reader with arbitrary text (multi-document YAML, JSON, lists):
//! never panics; every document either parses or reports a position; every parsed object
//! goes through the full request path without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policy_core::manifest::{documents, request_for};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let settings = serde_json::json!({"level": "restricted"});
    for document in policy_core::documents::parse_documents("fuzz.yaml", text) {
        match document.content {
            Err(error) => assert!(error.starts_with("fuzz.yaml:"), "{error}"),
            Ok(value) => {
                for object in documents(value) {
                    let request = request_for(object, &settings);
                    let bytes = serde_json::to_vec(&request).unwrap_or_default();
                    let _ = policy_core::validate(&bytes);
                }
            }
        }
    }
});
