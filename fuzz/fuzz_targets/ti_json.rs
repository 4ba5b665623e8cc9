//! TI JSON from a user application (untrusted text), then the whole generator.
//!
//! Parsing and `generate` (against the built-in templates, a fixed key store,
//! clock and seeded RNG) must return `Ok` or `Err`, never panic. A generated TC
//! must be self-consistent: its envelope parses back, opens with the key store
//! to a JSON record of the same TI, hashes to its record hash, and its calldata
//! is the template's selector followed by arguments that decode as the
//! template's ABI types. A TI read from the parsed document
//! (`from_json_value`, the npm package's path for TI objects) must be the TI
//! read from the text.
#![no_main]

use alloy_dyn_abi::DynSolType;
use ehrchain_core::generator::RECORD_FORMAT;
use ehrchain_core::{Envelope, InitialTransaction};
use ehrchain_fuzz::{NOW, accepted, fixture, read_text, rng};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((json, ti)) = read_text(data, InitialTransaction::from_json) else {
        return;
    };
    // (Not the converse: a text with a duplicate key is refused by
    // `from_json`, while a parsed document has kept the last value.)
    match serde_json::from_str(json).map(InitialTransaction::from_json_value) {
        Ok(Ok(same)) => assert_eq!(same, ti, "from_json_value differs from from_json"),
        other => panic!("from_json accepts what from_json_value refuses: {other:?}"),
    }
    let fx = fixture();
    let Some(tc) = accepted(fx.generator.generate(&fx.registry, &ti, NOW, &mut rng())) else {
        return;
    };

    assert_eq!(tc.ti_id, ti.ti_id);
    assert_eq!(tc.template_id, ti.template_id);
    assert_eq!(tc.record_hash, tc.envelope.record_hash());
    assert!(tc.cid().starts_with('b'));
    match Envelope::from_bytes(tc.envelope.as_bytes().to_vec()) {
        Ok(parsed) => assert!(parsed == tc.envelope, "envelope does not parse back equal"),
        Err(e) => panic!("generated envelope does not parse: {e}"),
    }
    let plaintext = match tc.envelope.open(fx.generator.key_store()) {
        Ok(plaintext) => plaintext,
        Err(e) => panic!("generated envelope does not open: {e}"),
    };
    let record: serde_json::Value = match serde_json::from_slice(&plaintext) {
        Ok(record) => record,
        Err(e) => panic!("sealed record is not JSON: {e}"),
    };
    assert_eq!(
        record.get("format").and_then(|v| v.as_str()),
        Some(RECORD_FORMAT)
    );
    assert_eq!(
        record.get("tiId").and_then(|v| v.as_str()),
        Some(ti.ti_id.to_string().as_str())
    );

    let Some(template) = fx.registry.get(&ti.template_id) else {
        panic!("a TC was generated for an unknown template");
    };
    let call = template.call();
    let Some((selector, args)) = tc.calldata.split_first_chunk::<4>() else {
        panic!("calldata shorter than a selector");
    };
    assert_eq!(selector, &call.selector.0);
    let params = DynSolType::Tuple(call.types.clone());
    if let Err(e) = params.abi_decode_params(args) {
        panic!(
            "calldata does not decode as {}: {e}",
            params.sol_type_name()
        );
    }
});
