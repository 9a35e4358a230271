//! Settings parsing and validation with arbitrary bytes: never panics; an invalid document
//! always says why; a valid one round-trips through `validate` without an error about
//! settings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let answer = policy_core::validate_settings(data);
    assert!(answer.valid || answer.message.is_some());
    if answer.valid {
        if let Ok(settings) = std::str::from_utf8(data) {
            let settings = if settings.trim().is_empty() { "null" } else { settings };
            let request = format!(
                r#"{{"request": {{"uid": "f", "operation": "CREATE", "namespace": "n", "kind": {{"group": "", "version": "v1", "kind": "Pod"}}, "object": {{"metadata": {{"name": "p"}}, "spec": {{"containers": [{{"name": "c", "image": "i"}}]}}}}}}, "settings": {settings}}}"#
            );
            let response = policy_core::validate(request.as_bytes());
            let message = response.message.unwrap_or_default();
            assert!(!message.contains("invalid settings"), "valid settings rejected: {message}");
        }
    }
});
