//! Template JSON from an administrator (untrusted text).
//!
//! `Template::from_json` must never panic, and a template it accepts must read
//! back equal from its own `to_json` (same id, same checked fields and call).
#![no_main]

use ehrchain_core::Template;
use ehrchain_fuzz::read_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Error messages are shown to IT staff: formatting must not panic.
    let Some((json, template)) = read_text(data, Template::from_json) else {
        return;
    };
    let written = template.to_json();
    match Template::from_json(&written) {
        Ok(again) => {
            assert!(
                again == template,
                "to_json does not read back equal:\n{json}\nwrote\n{written}"
            );
            assert_eq!(again.to_json(), written, "to_json is not a fixed point");
        }
        Err(e) => panic!("to_json does not read back ({e}):\n{json}\nwrote\n{written}"),
    }
});
