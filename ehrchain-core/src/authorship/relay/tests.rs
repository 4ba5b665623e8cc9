#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::{Address, B256, hex};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;

use super::*;
use crate::authorship::{LocalSigner, Signer};
use crate::validator::tests::{conclude, config, receipt, tc, tx};
use crate::validator::{AckStatus, AuditEvent, InvalidReason, TransactionValidator};
use crate::{ErrorCode, Role};

/// The doctor's test key (never a real one).
const DOCTOR_KEY: [u8; 32] = [0x11; 32];

fn doctor() -> LocalSigner {
    LocalSigner::from_bytes(&DOCTOR_KEY).unwrap()
}

fn request() -> SigningRequest {
    SigningRequest::new(tc(), doctor().address()).unwrap()
}

fn signed_tc() -> ChainTransaction {
    let request = request();
    let signature = doctor().sign(&request).unwrap();
    request.attach(&signature).unwrap()
}

#[test]
fn the_local_signer_is_alloys_signer_byte_for_byte() {
    let alloy = PrivateKeySigner::from_bytes(&B256::from(DOCTOR_KEY)).unwrap();
    assert_eq!(doctor().address(), alloy.address());
    let request = request();
    let theirs = alloy.sign_hash_sync(&request.digest()).unwrap().as_bytes();
    assert_eq!(doctor().sign(&request).unwrap(), theirs.to_vec());
}

#[test]
fn the_request_states_the_tcs_record_under_its_chain_and_registry() {
    let tc = tc();
    let request = SigningRequest::new(tc.clone(), doctor().address()).unwrap();
    let statement = request.statement();
    assert_eq!(statement.tiId, tc.ti_id);
    assert_eq!(statement.templateId, tc.template_id);
    assert_eq!(statement.recordHash, tc.record_hash);
    assert_eq!(statement.subject, tc.patient);
    assert_eq!(statement.role, Role::new(Role::DOCTOR).unwrap().id());
    assert_eq!(statement.author, doctor().address());
    assert_eq!(
        request.domain(),
        SigningDomain {
            chain_id: 1337,
            registry: Address::repeat_byte(0xee)
        }
    );
    assert_eq!(request.digest(), statement.signing_hash(&request.domain()));
    assert_eq!(request.typed_data()["domain"]["chainId"], 1337);
    assert_eq!(
        request.typed_data()["message"]["author"],
        doctor().address().to_string().to_lowercase()
    );
}

#[test]
fn a_signed_tc_calls_anchor_signed_record_and_keeps_its_record() {
    let (tc, signed) = (tc(), signed_tc());
    let selector = alloy_primitives::keccak256(
        "anchorSignedRecord((bytes32,bytes32,bytes32,bytes32,bytes32,address,uint64),bytes)",
    );
    assert_eq!(signed.calldata[..4], selector[..4]);
    assert_eq!(
        ChainTransaction {
            calldata: tc.calldata.clone(),
            ..signed.clone()
        },
        tc
    );
    let statement = signed.signed_statement().unwrap();
    assert_eq!(statement.author(), doctor().address());
    assert_eq!(statement.statement, *request().statement());
    assert_eq!(signed.check_signature(), Ok(Some(statement)));
    assert_eq!(tc.signed_statement(), None);
    assert_eq!(tc.check_signature(), Ok(None));
    // Signed once only: a signed TC has no anchorRecord call left to sign.
    assert_eq!(
        SigningRequest::new(signed, doctor().address()),
        Err(AuthorshipError::NotAnchorRecord)
    );
}

#[test]
fn attaching_another_signers_or_a_malformed_signature_is_refused() {
    let nurse = LocalSigner::from_bytes(&[0x22; 32]).unwrap();
    let request = request();
    let error = request
        .clone()
        .attach(&nurse.sign(&request).unwrap())
        .unwrap_err();
    assert_eq!(
        error,
        AuthorshipError::WrongSigner {
            author: doctor().address(),
            signer: nurse.address()
        }
    );
    assert_eq!(error.code(), ErrorCode::SignatureWrongSigner);
    let mut signature = doctor().sign(&request).unwrap();
    signature.pop();
    let error = request.clone().attach(&signature).unwrap_err();
    assert_eq!(error, AuthorshipError::SignatureLength { len: 64 });
    assert_eq!(error.code(), ErrorCode::SignatureMalformed);
    signature.push(1);
    assert_eq!(
        request.attach(&signature),
        Err(AuthorshipError::SignatureParity { v: 1 })
    );
}

#[test]
fn a_signed_tc_round_trips_through_its_json_form_still_checked() {
    let signed = signed_tc();
    assert_eq!(
        ChainTransaction::from_json(&signed.to_json()),
        Ok(signed.clone())
    );
    // The signed calldata still has to anchor the TC's TI id and record hash.
    let mut doc: serde_json::Value = serde_json::from_str(&signed.to_json()).unwrap();
    let mut calldata = signed.calldata.to_vec();
    calldata[4 + 31] ^= 1; // the statement's tiId
    doc["calldata"] = hex::encode_prefixed(calldata).into();
    assert_eq!(
        ChainTransaction::from_json(&doc.to_string()),
        Err(crate::generator::TcError::Inconsistent(
            "calldata anchors another TI id or record hash"
        ))
    );
}

#[test]
fn a_statement_of_another_template_does_not_verify_against_the_tc() {
    let mut statement = request().statement().clone();
    statement.templateId = B256::repeat_byte(9);
    let signature = doctor()
        .sign_digest(&statement.signing_hash(&request().domain()).0)
        .unwrap();
    let forged = ChainTransaction {
        calldata: anchorSignedRecordCall {
            statement,
            signature: signature.to_vec().into(),
        }
        .abi_encode()
        .into(),
        ..tc()
    };
    assert_eq!(
        forged.check_signature(),
        Err(AuthorshipError::StatementMismatch {
            field: "templateId"
        })
    );
}

#[test]
fn the_validator_refuses_a_bad_signature_before_sending_and_names_the_author() {
    let nurse = LocalSigner::from_bytes(&[0x22; 32]).unwrap();
    let request = request();
    let signature = nurse.sign(&request).unwrap();
    let forged = request.into_signed(&signature);
    let mut v = TransactionValidator::new(&forged, config());
    assert_eq!(v.poll_transmit(crate::UnixMillis(0)), None);
    let ack = v.poll_ack().unwrap();
    assert_eq!(ack.author(), Some(doctor().address()));
    assert_eq!(
        ack.authorship.as_ref().map(|a| a.signature.to_vec()),
        Some(signature.clone())
    );
    let AckStatus::Invalid { reason, tx_hashes } = &ack.status else {
        panic!("{ack:?}")
    };
    assert!(tx_hashes.is_empty());
    assert_eq!(
        *reason,
        InvalidReason::Authorship {
            code: "EHR_SIGNATURE_WRONG_SIGNER".into(),
            message: format!(
                "the statement names author {} but was signed by {}: either another key signed it, or it was signed for another chain, registry or record",
                doctor().address(),
                nurse.address()
            ),
        }
    );
    let json = serde_json::to_value(&ack).unwrap();
    assert_eq!(json["reason"]["kind"], "authorship");
    assert_eq!(
        json["authorship"]["statement"]["author"],
        doctor().address().to_string().to_lowercase()
    );
    assert_eq!(
        json["authorship"]["signature"],
        hex::encode_prefixed(&signature)
    );
}

#[test]
fn a_signed_tc_settles_like_anchor_record_and_its_ack_and_audit_name_the_author() {
    let signed = signed_tc();
    let mut v = TransactionValidator::new(&signed, config());
    let ack = conclude(&mut v, &receipt(tx(1), 5, true, None));
    assert!(ack.is_valid(), "{ack:?}");
    assert_eq!(ack.author(), Some(doctor().address()));
    assert_eq!(ack.authorship, signed.signed_statement());
    let finished = v.history().last().map(|e| e.event.clone());
    assert_eq!(
        finished,
        Some(AuditEvent::Finished {
            valid: true,
            author: Some(doctor().address()),
            signature: signed.signed_statement().map(|s| s.signature),
        })
    );
    // Unsigned ACKs keep their JSON form: no authorship member.
    let mut plain = TransactionValidator::new(&tc(), config());
    let plain = serde_json::to_value(conclude(&mut plain, &receipt(tx(1), 5, true, None))).unwrap();
    assert_eq!(plain.get("authorship"), None);
    // An ACK with authorship reads back as itself.
    let text = serde_json::to_string(&ack).unwrap();
    assert_eq!(serde_json::from_str::<crate::Ack>(&text).unwrap(), ack);
    // And the outbox entry of a signed TC resumes with it.
    let resumed = TransactionValidator::from_json(&v.to_json()).unwrap();
    let entry: serde_json::Value = serde_json::from_str(&resumed.to_json()).unwrap();
    assert_eq!(
        entry["validator"]["records"][0]["authorship"],
        serde_json::to_value(signed.signed_statement()).unwrap()
    );
}

#[test]
fn a_signer_that_makes_no_signature_gives_an_invalid_ack_before_sending() {
    let failed = AuthorshipError::SignerFailed {
        message: "the wallet user rejected the request".into(),
    };
    let mut v = request().validator(Err(failed), config());
    assert_eq!(v.poll_transmit(crate::UnixMillis(0)), None);
    let ack = v.poll_ack().unwrap();
    assert_eq!(ack.authorship, None);
    assert_eq!(
        ack.reason(),
        Some(&InvalidReason::Authorship {
            code: "EHR_SIGNER_FAILED".into(),
            message: "the author's signer made no signature: the wallet user rejected the request; check the signer (key, HSM, card or wallet) and submit the TI again".into(),
        })
    );
    assert_eq!(
        ErrorCode::from_name("EHR_SIGNER_FAILED").map(ErrorCode::number),
        Some(803)
    );
}

#[test]
fn a_smart_accounts_signature_is_left_to_the_registry() {
    // Any bytes: only the account's isValidSignature can judge them.
    let request = request().for_smart_account();
    let signed = request.clone().attach(&[0xaa; 97]).unwrap();
    assert_eq!(
        signed.signed_statement().map(|s| s.signature.to_vec()),
        Some(vec![0xaa; 97])
    );
    assert_eq!(signed.check_statement().map(|s| s.is_some()), Ok(true));
    // Checked as an externally owned account's, the same bytes are refused.
    assert_eq!(
        signed.check_signature(),
        Err(AuthorshipError::SignatureLength { len: 97 })
    );
    let mut v = request.validator(Ok(vec![0xaa; 97]), config());
    assert_eq!(v.poll_ack(), None, "nothing refused before sending");
    assert_eq!(
        v.poll_transmit(crate::UnixMillis(0)),
        Some(crate::validator::Transmit::Persist)
    );
}
