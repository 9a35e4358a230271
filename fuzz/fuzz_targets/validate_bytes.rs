//! `validate` with arbitrary bytes: never panics, and every rejection carries a message
//! and code 400 (bad input) or 403 (a violation).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let response = policy_core::validate(data);
    if !response.accepted {
        assert!(response.message.is_some());
        assert!(matches!(response.code, Some(400) | Some(403)));
    }
});
