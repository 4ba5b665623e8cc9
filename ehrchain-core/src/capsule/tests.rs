#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use alloy_primitives::{Address, B256};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::{
    Authority, BindingPart, CapsuleBinding, CapsuleError, CapsuleSuite, HEADER_LEN, KeyCapsule,
    RecipientPrivateKey, RecipientPublicKey,
};
use crate::envelope::{Envelope, EnvelopeBinding, EnvelopeError};
use crate::{ErrorCode, KeyId, MasterKey};

const SUITES: [CapsuleSuite; 2] = [CapsuleSuite::XWing, CapsuleSuite::X25519];

struct Fixture {
    envelope: Envelope,
    record_key: [u8; 32],
    binding: CapsuleBinding,
    recipient: RecipientPrivateKey,
    capsule: KeyCapsule,
}

fn fixture(suite: CapsuleSuite) -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let master = MasterKey::new([3; 32]);
    let sealed_for = EnvelopeBinding::for_tests("ward-7");
    let envelope = Envelope::seal(&sealed_for, &master, [4; 12], b"potassium 4.1").unwrap();
    let record_key = *envelope.record_key(&master).unwrap();
    let binding = CapsuleBinding {
        chain_id: 31337,
        registry: Address::repeat_byte(0xee),
        record_hash: envelope.record_hash(),
        recipient: Address::repeat_byte(0xaa),
        authority: Authority::Grant(B256::repeat_byte(0x42)),
    };
    let recipient = RecipientPrivateKey::generate(suite, &mut rng);
    let capsule =
        KeyCapsule::seal(&binding, recipient.public_key(), &record_key, &mut rng).unwrap();
    Fixture {
        envelope,
        record_key,
        binding,
        recipient,
        capsule,
    }
}

fn reparse(bytes: &[u8]) -> Result<KeyCapsule, CapsuleError> {
    KeyCapsule::from_bytes(bytes)
}

#[test]
fn a_capsule_opens_to_the_record_key_and_the_record() {
    for suite in SUITES {
        let f = fixture(suite);
        let expected_len = if suite == CapsuleSuite::XWing {
            151 + 1120 + 48
        } else {
            151 + 32 + 48
        };
        assert_eq!(f.capsule.as_bytes().len(), expected_len, "{suite}");
        let read = reparse(f.capsule.as_bytes()).unwrap();
        assert_eq!(read, f.capsule);
        assert_eq!(read.suite(), suite);
        assert_eq!(read.binding(), &f.binding);
        assert_eq!(read.recipient_key_id(), f.recipient.public_key().key_id());
        assert_eq!(*read.open(&f.binding, &f.recipient).unwrap(), f.record_key);
        let record = read
            .open_envelope(&f.binding, &f.recipient, &f.envelope)
            .unwrap();
        assert_eq!(record.as_slice(), b"potassium 4.1");
    }
}

#[test]
fn an_emergency_capsule_round_trips() {
    let mut f = fixture(CapsuleSuite::X25519);
    f.binding.authority = Authority::Emergency;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let capsule = KeyCapsule::seal(
        &f.binding,
        f.recipient.public_key(),
        &f.record_key,
        &mut rng,
    )
    .unwrap();
    assert_eq!(capsule.as_bytes()[118], 1);
    assert!(capsule.as_bytes()[119..151].iter().all(|&b| b == 0));
    let read = reparse(capsule.as_bytes()).unwrap();
    assert_eq!(read.binding().authority, Authority::Emergency);
    assert_eq!(*read.open(&f.binding, &f.recipient).unwrap(), f.record_key);
    // The same capsule is not one of the grant.
    let mut granted = f.binding;
    granted.authority = Authority::Grant(B256::repeat_byte(0x42));
    assert_eq!(
        read.open(&granted, &f.recipient),
        Err(CapsuleError::WrongBinding(BindingPart::Authority))
    );
}

#[test]
fn keys_round_trip_through_their_bytes() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for suite in SUITES {
        let key = RecipientPrivateKey::generate(suite, &mut rng);
        let again = RecipientPrivateKey::from_bytes(suite, &key.to_bytes()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let public = key.public_key().to_bytes();
        let len = if suite == CapsuleSuite::XWing {
            1216
        } else {
            32
        };
        assert_eq!(public.len(), len);
        let read = RecipientPublicKey::from_bytes(suite, &public).unwrap();
        assert_eq!(&read, key.public_key());
        assert_ne!(
            read.key_id(),
            RecipientPrivateKey::generate(suite, &mut rng)
                .public_key()
                .key_id()
        );
        assert!(!format!("{key:?}").contains(&alloy_primitives::hex::encode(key.to_bytes())));
    }
}

#[test]
fn malformed_keys_are_refused() {
    for suite in SUITES {
        assert_eq!(
            RecipientPublicKey::from_bytes(suite, &[1; 31]).unwrap_err(),
            CapsuleError::InvalidPublicKey { suite, len: 31 }
        );
        assert_eq!(
            RecipientPrivateKey::from_bytes(suite, &[1; 33]).unwrap_err(),
            CapsuleError::InvalidPrivateKey { suite, len: 33 }
        );
    }
    // X-Wing checks the ML-KEM part: coefficients of 0xff.. are out of range.
    assert_eq!(
        RecipientPublicKey::from_bytes(CapsuleSuite::XWing, &[0xff; 1216]).unwrap_err(),
        CapsuleError::InvalidPublicKey {
            suite: CapsuleSuite::XWing,
            len: 1216
        }
    );
}

#[test]
fn a_small_order_x25519_key_cannot_be_sealed_for() {
    let f = fixture(CapsuleSuite::X25519);
    // The identity point: every shared secret is zero.
    let weak = RecipientPublicKey::from_bytes(CapsuleSuite::X25519, &[0; 32]).unwrap();
    let err = KeyCapsule::seal(
        &f.binding,
        &weak,
        &f.record_key,
        &mut ChaCha20Rng::seed_from_u64(2),
    )
    .unwrap_err();
    assert_eq!(
        err,
        CapsuleError::InvalidPublicKey {
            suite: CapsuleSuite::X25519,
            len: 32
        }
    );
    assert_eq!(err.code(), ErrorCode::RecipientKeyInvalid);
}

#[test]
fn structural_defects_have_their_own_errors() {
    let f = fixture(CapsuleSuite::X25519);
    let good = f.capsule.as_bytes();
    let with = |at: usize, byte: u8| {
        let mut b = good.to_vec();
        b[at] = byte;
        b
    };
    let cases: Vec<(Vec<u8>, CapsuleError, ErrorCode)> = vec![
        (
            good[..5].to_vec(),
            CapsuleError::Truncated { needed: 6, got: 5 },
            ErrorCode::CapsuleMalformed,
        ),
        (
            with(0, b'X'),
            CapsuleError::NotACapsule,
            ErrorCode::CapsuleMalformed,
        ),
        (
            with(4, 2),
            CapsuleError::UnsupportedVersion(2),
            ErrorCode::CapsuleUnsupported,
        ),
        (
            with(5, 9),
            CapsuleError::UnsupportedSuite(9),
            ErrorCode::CapsuleUnsupported,
        ),
        (
            good[..HEADER_LEN - 1].to_vec(),
            CapsuleError::Truncated {
                needed: HEADER_LEN,
                got: HEADER_LEN - 1,
            },
            ErrorCode::CapsuleMalformed,
        ),
        (
            with(118, 2),
            CapsuleError::MalformedAuthority(2),
            ErrorCode::CapsuleMalformed,
        ),
        (
            with(118, 1),
            CapsuleError::MalformedAuthority(1),
            ErrorCode::CapsuleMalformed,
        ),
        (
            good[..good.len() - 1].to_vec(),
            CapsuleError::Truncated {
                needed: good.len(),
                got: good.len() - 1,
            },
            ErrorCode::CapsuleMalformed,
        ),
        (
            [good, &[0]].concat(),
            CapsuleError::TrailingBytes(1),
            ErrorCode::CapsuleMalformed,
        ),
        // An X25519 capsule relabelled as X-Wing is too short for X-Wing.
        (
            with(5, 1),
            CapsuleError::Truncated {
                needed: 151 + 1120 + 48,
                got: good.len(),
            },
            ErrorCode::CapsuleMalformed,
        ),
    ];
    for (bytes, error, code) in cases {
        let got = reparse(&bytes).unwrap_err();
        assert_eq!(got, error);
        assert_eq!(got.code(), code, "{error}");
    }
}

#[test]
fn the_wrong_key_is_named_before_any_decryption() {
    for suite in SUITES {
        let f = fixture(suite);
        let mut rng = ChaCha20Rng::seed_from_u64(99);
        for other_suite in SUITES {
            let other = RecipientPrivateKey::generate(other_suite, &mut rng);
            let err = f.capsule.open(&f.binding, &other).unwrap_err();
            assert_eq!(
                err,
                CapsuleError::WrongKey {
                    capsule: f.recipient.public_key().key_id(),
                    key: other.public_key().key_id(),
                }
            );
            assert_eq!(err.code(), ErrorCode::CapsuleWrongKey);
        }
    }
}

#[test]
fn a_capsule_for_another_disclosure_is_refused() {
    let f = fixture(CapsuleSuite::XWing);
    let others = [
        (
            CapsuleBinding {
                chain_id: 1,
                ..f.binding
            },
            BindingPart::ChainId,
        ),
        (
            CapsuleBinding {
                registry: Address::repeat_byte(1),
                ..f.binding
            },
            BindingPart::Registry,
        ),
        (
            CapsuleBinding {
                record_hash: B256::repeat_byte(1),
                ..f.binding
            },
            BindingPart::RecordHash,
        ),
        (
            CapsuleBinding {
                recipient: Address::repeat_byte(1),
                ..f.binding
            },
            BindingPart::Recipient,
        ),
        (
            CapsuleBinding {
                authority: Authority::Grant(B256::repeat_byte(1)),
                ..f.binding
            },
            BindingPart::Authority,
        ),
    ];
    for (expected, part) in others {
        let err = f.capsule.open(&expected, &f.recipient).unwrap_err();
        assert_eq!(err, CapsuleError::WrongBinding(part));
        assert_eq!(err.code(), ErrorCode::CapsuleWrongBinding);
    }
}

#[test]
fn a_capsule_replayed_for_another_record_is_refused() {
    let f = fixture(CapsuleSuite::X25519);
    let master = MasterKey::new([3; 32]);
    let other_binding = EnvelopeBinding {
        ti_id: B256::repeat_byte(9),
        ..EnvelopeBinding::for_tests("ward-7")
    };
    let other = Envelope::seal(&other_binding, &master, [4; 12], b"other").unwrap();
    let err = f
        .capsule
        .open_envelope(&f.binding, &f.recipient, &other)
        .unwrap_err();
    assert_eq!(
        err,
        CapsuleError::WrongRecord {
            capsule: f.binding.record_hash,
            envelope: other.record_hash(),
        }
    );
    assert_eq!(err.code(), ErrorCode::CapsuleWrongBinding);
}

#[test]
fn a_header_rewritten_to_another_disclosure_does_not_authenticate() {
    for suite in SUITES {
        let f = fixture(suite);
        // The record hash (byte 40), then the grant id (byte 130) rewritten,
        // and the expected binding rewritten the same way.
        for (at, expected) in [
            (
                40,
                CapsuleBinding {
                    record_hash: {
                        let mut h = f.binding.record_hash;
                        h[6] ^= 1;
                        h
                    },
                    ..f.binding
                },
            ),
            (
                130,
                CapsuleBinding {
                    authority: {
                        let mut g = B256::repeat_byte(0x42);
                        g[11] ^= 1;
                        Authority::Grant(g)
                    },
                    ..f.binding
                },
            ),
        ] {
            let mut bytes = f.capsule.as_bytes().to_vec();
            bytes[at] ^= 1;
            let forged = reparse(&bytes).unwrap();
            assert_eq!(forged.binding(), &expected);
            let err = forged.open(&expected, &f.recipient).unwrap_err();
            assert_eq!(err, CapsuleError::Tampered, "{suite} byte {at}");
            assert_eq!(err.code(), ErrorCode::CapsuleTampered);
        }
    }
}

#[test]
fn flipped_bits_in_enc_sealed_key_and_tag_are_tampering() {
    let x25519 = fixture(CapsuleSuite::X25519);
    let len = x25519.capsule.as_bytes().len();
    // Every byte after the header.
    assert_flips_are_tampering(&x25519, HEADER_LEN..len);
    let x_wing = fixture(CapsuleSuite::XWing);
    let len = x_wing.capsule.as_bytes().len();
    // In the ML-KEM ciphertext, the X25519 share, the sealed key and the tag.
    assert_flips_are_tampering(
        &x_wing,
        [
            HEADER_LEN,
            HEADER_LEN + 1087,
            HEADER_LEN + 1100,
            len - 40,
            len - 1,
        ],
    );
}

fn assert_flips_are_tampering(f: &Fixture, offsets: impl IntoIterator<Item = usize>) {
    for at in offsets {
        let mut bytes = f.capsule.as_bytes().to_vec();
        bytes[at] ^= 0x80;
        let forged = reparse(&bytes).unwrap();
        assert_eq!(
            forged.open(&f.binding, &f.recipient),
            Err(CapsuleError::Tampered),
            "{} byte {at}",
            f.capsule.suite()
        );
    }
}

#[test]
fn a_wrong_record_key_in_the_capsule_fails_at_the_envelope() {
    let f = fixture(CapsuleSuite::X25519);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let capsule =
        KeyCapsule::seal(&f.binding, f.recipient.public_key(), &[0; 32], &mut rng).unwrap();
    let err = capsule
        .open_envelope(&f.binding, &f.recipient, &f.envelope)
        .unwrap_err();
    assert_eq!(err, CapsuleError::Envelope(EnvelopeError::Tampered));
    assert_eq!(err.code(), ErrorCode::EnvelopeTampered);
    assert_eq!(crate::Error::from(err).reason(), Some("tampered"));
}

#[test]
fn sealing_takes_its_randomness_from_the_caller() {
    for suite in SUITES {
        let f = fixture(suite);
        let seal = |seed| {
            KeyCapsule::seal(
                &f.binding,
                f.recipient.public_key(),
                &f.record_key,
                &mut ChaCha20Rng::seed_from_u64(seed),
            )
            .unwrap()
        };
        assert_eq!(seal(8), seal(8));
        assert_ne!(seal(8).as_bytes(), seal(9).as_bytes());
    }
}

#[test]
fn every_error_has_its_name_and_code() {
    let cases = [
        (
            CapsuleError::Truncated { needed: 6, got: 0 },
            "truncated",
            ErrorCode::CapsuleMalformed,
        ),
        (
            CapsuleError::TrailingBytes(1),
            "trailing_bytes",
            ErrorCode::CapsuleMalformed,
        ),
        (
            CapsuleError::NotACapsule,
            "not_a_capsule",
            ErrorCode::CapsuleMalformed,
        ),
        (
            CapsuleError::MalformedAuthority(7),
            "malformed_authority",
            ErrorCode::CapsuleMalformed,
        ),
        (
            CapsuleError::UnsupportedVersion(2),
            "unsupported_version",
            ErrorCode::CapsuleUnsupported,
        ),
        (
            CapsuleError::UnsupportedSuite(3),
            "unsupported_suite",
            ErrorCode::CapsuleUnsupported,
        ),
        (
            CapsuleError::InvalidPublicKey {
                suite: CapsuleSuite::XWing,
                len: 1,
            },
            "invalid_public_key",
            ErrorCode::RecipientKeyInvalid,
        ),
        (
            CapsuleError::InvalidPrivateKey {
                suite: CapsuleSuite::X25519,
                len: 1,
            },
            "invalid_private_key",
            ErrorCode::RecipientKeyInvalid,
        ),
        (
            CapsuleError::WrongKey {
                capsule: B256::ZERO,
                key: B256::ZERO,
            },
            "wrong_key",
            ErrorCode::CapsuleWrongKey,
        ),
        (
            CapsuleError::WrongBinding(BindingPart::Recipient),
            "wrong_binding",
            ErrorCode::CapsuleWrongBinding,
        ),
        (
            CapsuleError::WrongRecord {
                capsule: B256::ZERO,
                envelope: B256::ZERO,
            },
            "wrong_record",
            ErrorCode::CapsuleWrongBinding,
        ),
        (
            CapsuleError::Tampered,
            "tampered",
            ErrorCode::CapsuleTampered,
        ),
    ];
    for (error, name, code) in cases {
        assert_eq!(error.name(), name);
        assert_eq!(error.code(), code);
        let umbrella = crate::Error::from(error);
        assert_eq!(umbrella.code(), code);
        assert_eq!(umbrella.reason(), Some(name));
    }
    assert_eq!(
        CapsuleError::WrongBinding(BindingPart::Authority).to_string(),
        "the key capsule is bound to another grant than the one expected; it was made for another disclosure"
    );
}

#[test]
fn the_holder_seals_the_key_of_the_envelope_the_binding_names_under_its_master_key() {
    let mut rng = ChaCha20Rng::seed_from_u64(23);
    for suite in SUITES {
        let f = fixture(suite);
        let master = MasterKey::new([3; 32]);
        let public = f.recipient.public_key();
        let capsule =
            KeyCapsule::seal_envelope_key(&f.binding, public, &f.envelope, &master, &mut rng)
                .unwrap();
        let record = capsule
            .open_envelope(&f.binding, &f.recipient, &f.envelope)
            .unwrap();
        assert_eq!(record.as_slice(), b"potassium 4.1");

        let other = CapsuleBinding {
            record_hash: B256::repeat_byte(9),
            ..f.binding
        };
        let err = KeyCapsule::seal_envelope_key(&other, public, &f.envelope, &master, &mut rng)
            .unwrap_err();
        assert_eq!(
            err,
            CapsuleError::WrongRecord {
                capsule: B256::repeat_byte(9),
                envelope: f.envelope.record_hash(),
            }
        );
        let wrong = MasterKey::new([5; 32]);
        let err = KeyCapsule::seal_envelope_key(&f.binding, public, &f.envelope, &wrong, &mut rng)
            .unwrap_err();
        assert_eq!(
            err,
            CapsuleError::Envelope(EnvelopeError::WrongKey {
                key_id: KeyId::new("ward-7").unwrap()
            })
        );
    }
}

#[test]
fn suites_are_read_back_from_their_header_byte() {
    for suite in SUITES {
        assert_eq!(CapsuleSuite::from_id(suite.id()), Some(suite));
    }
    assert_eq!(CapsuleSuite::from_id(0), None);
    assert_eq!(CapsuleSuite::from_id(3), None);
}
