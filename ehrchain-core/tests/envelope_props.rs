//! Property tests of the sealed-record envelope (`docs/envelope.md`): seal/open
//! round trips, and every kind of damage is rejected with its own error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ehrchain_core::envelope::{EnvelopeBinding, EnvelopeError, UnsealedEnvelope};
use ehrchain_core::{B256, Envelope, KeyId, MasterKey};
use proptest::prelude::*;
use proptest::sample::Index;
use sha2::{Digest, Sha256};

/// Header bytes besides the key id.
const FIXED_HEADER: usize = 135;

/// A sealed envelope with everything that went into it.
#[derive(Debug, Clone)]
struct Case {
    key: [u8; 32],
    binding: EnvelopeBinding,
    plaintext: Vec<u8>,
    bytes: Vec<u8>,
}

impl Case {
    fn master(&self) -> MasterKey {
        MasterKey::new(self.key)
    }

    fn header_len(&self) -> usize {
        FIXED_HEADER + self.binding.key_id.as_str().len()
    }

    /// `from_bytes` then `open_with` this case's key.
    fn open(&self, bytes: Vec<u8>) -> Result<Vec<u8>, EnvelopeError> {
        Envelope::from_bytes(bytes)
            .and_then(|e| e.open_with(&self.master()))
            .map(|p| p.to_vec())
    }
}

fn key_id() -> impl Strategy<Value = KeyId> {
    // Every printable ASCII byte except space, 1 to 64 of them.
    "[!-~]{1,64}".prop_map(|s| KeyId::new(s).unwrap())
}

fn binding() -> impl Strategy<Value = EnvelopeBinding> {
    (
        key_id(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
    )
        .prop_map(|(key_id, patient, template_id, ti_id)| EnvelopeBinding {
            key_id,
            patient: B256::from(patient),
            template_id: B256::from(template_id),
            ti_id: B256::from(ti_id),
        })
}

fn case(max_plaintext: usize) -> impl Strategy<Value = Case> {
    (
        any::<[u8; 32]>(),
        binding(),
        any::<[u8; 12]>(),
        prop::collection::vec(any::<u8>(), 0..max_plaintext),
    )
        .prop_map(|(key, binding, nonce, plaintext)| {
            let bytes = Envelope::seal(&binding, &MasterKey::new(key), nonce, &plaintext)
                .unwrap()
                .into_bytes();
            Case {
                key,
                binding,
                plaintext,
                bytes,
            }
        })
}

/// The error a single changed byte at `at` must give, by header region; `None`
/// where several errors are possible (key id, lengths).
fn expected_for_region(case: &Case, at: usize) -> Option<&'static str> {
    let l = case.binding.key_id.as_str().len();
    let patient = 7 + l;
    let nonce = patient + 96;
    let commitment = nonce + 12;
    let ct_len = commitment + 16;
    Some(match at {
        0..4 => "not_an_envelope",
        4 => "unsupported_version",
        5 => "unsupported_suite",
        _ if at < patient => return None, // key id length or key id
        _ if at < nonce => "wrong_key",   // pseudonym, template id, TI id
        _ if at < commitment => "tampered",
        _ if at < ct_len => "wrong_key",
        _ if at < ct_len + 4 => return None, // length field
        _ => "tampered",                     // ciphertext and tag
    })
}

proptest! {
    // More cases here: this property guards every byte of the format.
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn any_bit_flip_is_rejected(case in case(512), at in any::<Index>(), bit in 0u8..8) {
        let at = at.index(case.bytes.len());
        let mut bytes = case.bytes.clone();
        bytes[at] ^= 1 << bit;
        match case.open(bytes) {
            Ok(p) => prop_assert!(false, "bit {} of byte {} flipped, opened to {} bytes", bit, at, p.len()),
            Err(e) => {
                if let Some(expected) = expected_for_region(&case, at) {
                    prop_assert_eq!(e.name(), expected, "byte {}: {}", at, e);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn seal_open_round_trip(case in case(4096)) {
        prop_assert_eq!(
            case.bytes.len(),
            case.header_len() + case.plaintext.len() + 16
        );
        prop_assert_eq!(&case.bytes[..6], b"EHRE\x01\x01");
        let envelope = Envelope::from_bytes(case.bytes.clone()).unwrap();
        prop_assert_eq!(envelope.binding(), &case.binding);
        prop_assert_eq!(envelope.as_bytes(), case.bytes.as_slice());
        let opened = envelope.open_with(&case.master()).unwrap();
        prop_assert_eq!(opened.as_slice(), case.plaintext.as_slice());
        let hash: [u8; 32] = Sha256::digest(&case.bytes).into();
        prop_assert_eq!(envelope.record_hash(), B256::from(hash));
        let cid = envelope.cid();
        prop_assert!(cid.starts_with("bafkrei"), "{}", cid);
        prop_assert_eq!(cid.len(), 59);
    }

    #[test]
    fn any_truncation_is_truncated(case in case(512), cut in any::<Index>()) {
        let len = cut.index(case.bytes.len());
        let err = case.open(case.bytes[..len].to_vec()).unwrap_err();
        prop_assert!(
            matches!(err, EnvelopeError::Truncated { got, needed } if got == len && needed > len),
            "cut to {}: {:?}", len, err
        );
    }

    #[test]
    fn appended_bytes_are_trailing(case in case(512), extra in prop::collection::vec(any::<u8>(), 1..64)) {
        let mut bytes = case.bytes.clone();
        bytes.extend_from_slice(&extra);
        prop_assert_eq!(case.open(bytes), Err(EnvelopeError::TrailingBytes(extra.len())));
    }

    #[test]
    fn another_master_key_is_wrong_key(case in case(512), other in any::<[u8; 32]>()) {
        prop_assume!(other != case.key);
        let envelope = Envelope::from_bytes(case.bytes.clone()).unwrap();
        prop_assert_eq!(
            envelope.open_with(&MasterKey::new(other)),
            Err(EnvelopeError::WrongKey { key_id: case.binding.key_id.clone() })
        );
    }

    #[test]
    fn altered_ciphertext_or_tag_is_tampered(
        case in case(512),
        changes in prop::collection::vec((any::<Index>(), 1u8..=255), 1..8),
    ) {
        let h = case.header_len();
        let mut bytes = case.bytes.clone();
        let body = bytes.len() - h;
        for (at, mask) in &changes {
            bytes[h + at.index(body)] ^= mask;
        }
        prop_assume!(bytes != case.bytes); // masks at one offset may cancel out
        prop_assert_eq!(case.open(bytes), Err(EnvelopeError::Tampered));
    }

    #[test]
    fn arbitrary_bytes_never_open(
        key in any::<[u8; 32]>(),
        tail in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        // Random bytes behind a valid prefix get past the magic, version and
        // suite checks; whatever follows must never authenticate.
        let mut bytes = b"EHRE\x01\x01".to_vec();
        bytes.extend_from_slice(&tail);
        let opened = Envelope::from_bytes(bytes).and_then(|e| e.open_with(&MasterKey::new(key)));
        prop_assert!(opened.is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `UnsealedEnvelope::new`, writing the plaintext in pieces and bytes
    /// into a buffer sized by any hint (so it may have to grow), seals what
    /// `seal` seals.
    #[test]
    fn plaintext_written_in_pieces_seals_what_seal_seals(
        key in any::<[u8; 32]>(),
        binding in binding(),
        nonce in any::<[u8; 12]>(),
        plaintext in prop::collection::vec(any::<u8>(), 0..4096),
        hint in 0usize..8192,
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let master = MasterKey::new(key);
        let sealed = Envelope::seal(&binding, &master, nonce, &plaintext).unwrap();
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(plaintext.len() + 1)).collect();
        cuts.sort_unstable();
        let written = UnsealedEnvelope::new(binding.clone(), &master, nonce, hint, |buf| {
            let mut from = 0;
            for &cut in &cuts {
                buf.extend_from_slice(&plaintext[from..cut]);
                from = cut;
            }
            for &byte in &plaintext[from..] {
                buf.push(byte);
            }
        })
        .unwrap()
        .seal()
        .unwrap();
        prop_assert_eq!(written.as_bytes(), sealed.as_bytes());
        prop_assert_eq!(written.binding(), &binding);
    }
}
