//! A JSON-RPC node's answer (untrusted bytes from the network), read by the
//! core's policy: classification, then every decoder and a whole exchange.
//!
//! `classify_http` must return a result or a `TransportError`, never panic;
//! an error's message must render; a revert is never retryable. The result
//! is then fed to every decoder and to an exchange at each of its steps: each
//! returns `Ok` or `Err`, and an exchange that got an error is done, with a
//! result for the validator.
#![no_main]

use ehrchain_core::rpc::{self, Exchange, ExchangeConfig};
use ehrchain_core::transport::Anchoring;
use ehrchain_core::{Address, B256, Bytes, FinalityTag, Submission, Transmit, TransportError, TxHash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&status, body)) = data.split_first() else {
        return;
    };
    // The first byte picks an HTTP status among the interesting ones.
    let status = [200u16, 0, 400, 401, 408, 429, 500, 502, 503][usize::from(status) % 9];
    let answer = rpc::classify_http(status, body, 1337);
    if let Err(e) = &answer {
        let _ = e.to_string();
        if matches!(e, TransportError::Reverted(_)) {
            assert!(!e.is_retryable(), "a revert is retried");
        }
    }
    let tx_hash = TxHash(B256::repeat_byte(0x11));
    if let Ok(value) = &answer {
        let _ = rpc::quantity(value, "fuzz");
        let _ = rpc::tx_hash(value);
        let _ = rpc::data(value);
        let _ = rpc::check_chain_id(value, 1337);
        let _ = rpc::receipt(value, &tx_hash, None);
        let _ = rpc::transaction(value);
        let _ = rpc::block(value);
    }
    let submission = Submission {
        to: Address::repeat_byte(0xee),
        chain_id: 1337,
        calldata: Bytes::from_static(&[1, 2, 3, 4]),
        anchoring: Anchoring::Record { ti_id: B256::repeat_byte(1), record_hash: B256::repeat_byte(2) },
    };
    let config = ExchangeConfig { from: Some(Address::repeat_byte(3)), mine_on_head: true, ..ExchangeConfig::new(1337, Address::repeat_byte(0xee)) };
    for transmit in [
        Transmit::Submit { submission: submission.clone() },
        Transmit::Poll { tx_hash, submission },
        Transmit::ReadHead,
        Transmit::ReadRecord { ti_id: B256::repeat_byte(1) },
        Transmit::ReadBatch { root: B256::repeat_byte(2) },
        Transmit::ReadBlock { tag: FinalityTag::Finalized },
    ] {
        // The same answer at every step, until the exchange is done (each
        // exchange takes at most three requests).
        let mut exchange = Exchange::new(&transmit, config);
        for _ in 0..3 {
            if exchange.request().is_none() {
                break;
            }
            exchange.handle_answer(answer.clone());
        }
        if answer.is_err() {
            assert!(exchange.is_done(), "an error did not end the exchange");
            assert!(exchange.finish().is_some(), "a done exchange has no result");
        }
    }
});
