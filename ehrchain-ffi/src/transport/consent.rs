//! `EhrConsent` over a devnet or JSON-RPC transport: deploying it, and
//! sending the consent transactions the C ABI writes (binding a patient,
//! publishing a recipient's key, relaying a signed statement, recording
//! disclosures), blocking until mined, a refusal decoded by the core as
//! JavaScript's `sendToConsent` decodes it.

use std::ffi::c_char;

use alloy_primitives::Address;
use ehrchain_core::sharing::{ConsentTransaction, SharingError};
use ehrchain_core::{Bytes, Transport as _, TransportError};

use super::{FfiTransport, ehr_transport, needs};
use crate::ptr::{self, OutArray};
use crate::result::{Error, ehr_result};
use crate::shapes::{from_json, guard_on_mut};

/// What a transport without `eth_sendTransaction` of its own says.
#[allow(dead_code)]
const NEEDS: &str = "a devnet or JSON-RPC transport: a callback transport sends only the validator's transactions (send this one with the host's client)";

/// The error of a transaction that reverted with `data`: `EhrConsent`'s
/// refusal as the core reads it (`EHR_CONSENT_REVOKED`, …,
/// `EHR_DISCLOSURE_REFUSED` for the rest), else the transport's
/// `EHR_TRANSPORT_REVERTED` with the decoded revert.
#[allow(dead_code)]
fn refusal(data: &[u8], reverted: TransportError) -> Error {
    match SharingError::from_revert(data) {
        Some(refused) => Error::from(refused),
        None => Error::from(reverted),
    }
}

/// Deploys `EhrConsent` over the transport's registry (whose roles it
/// reads) with a transaction from the 20-byte account `from` (on a
/// JSON-RPC node an account it unlocks, or whose key was added with
/// `ehr_transport_rpc_add_local_key`; on the devnet any account, such as
/// `ehr_devnet_account("admin")`), blocks until it is mined and writes the
/// contract's 20-byte address to `consent_out` (`ehr_sharing_context.consent`).
/// The registry's admin then grants `custodian` (and `emergency`) with
/// `ehr_transport_rpc_grant_role` or `ehr_transport_devnet_grant_role`.
/// `EHR_TRANSPORT_REVERTED` when the deployment reverts;
/// `EHR_INVALID_ARGUMENT` for a callback transport.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_deploy_consent(
    transport: *mut ehr_transport,
    from: *const u8,
    consent_out: *mut u8,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let from = ptr::address(from, "from")?;
        let out = OutArray::<20>::new(consent_out, "consent_out")?;
        let consent = deploy(&mut t.inner, from)?;
        out.set(&consent.0.0);
        Ok(())
    })
}

/// Sends the consent transaction in `transaction_json`
/// (`transaction_json_len` bytes: `{"chainId", "to", "calldata"}`, as
/// `ehr_consent_bind_patient_transaction`,
/// `ehr_consent_publish_key_transaction`, `ehr_consent_relay_transaction`
/// and `ehr_disclosure_transaction` write it) from the 20-byte account
/// `from` (a custodian, the recipient, or any relayer, as each says), blocks
/// until it is mined and writes its 32-byte transaction hash to
/// `tx_hash_out`. A refusal of `EhrConsent` is the core's error for it:
/// `EHR_CONSENT_REVOKED`, `EHR_CONSENT_EXPIRED`, `EHR_CONSENT_NO_GRANT`, and
/// `EHR_DISCLOSURE_REFUSED` for the rest (a signature not the patient's
/// (`EhrConsentBadSignature`), a replayed grant, a sender without
/// `CUSTODIAN_ROLE`, …; `ehr_last_error` names the contract's error); any
/// other revert `EHR_TRANSPORT_REVERTED`. `EHR_TRANSPORT_WRONG_CHAIN` for a
/// transaction of another chain; `EHR_INVALID_JSON` for malformed JSON;
/// `EHR_INVALID_ARGUMENT` for a callback transport.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_transport_send_consent(
    transport: *mut ehr_transport,
    from: *const u8,
    transaction_json: *const c_char,
    transaction_json_len: usize,
    tx_hash_out: *mut u8,
) -> ehr_result {
    guard_on_mut(transport, "transport", |t| {
        let from = ptr::address(from, "from")?;
        let text = ptr::text(transaction_json, transaction_json_len, "transaction_json")?;
        let tx: ConsentTransaction = from_json(text, |e| {
            format!("transaction_json is not {{\"chainId\", \"to\", \"calldata\"}}: {e}")
        })?;
        let out = OutArray::<32>::new(tx_hash_out, "tx_hash_out")?;
        let chain_id = t.inner.chain_id();
        if tx.chain_id != chain_id {
            return Err(TransportError::WrongChain {
                expected: tx.chain_id,
                actual: Some(chain_id),
            }
            .into());
        }
        let ConsentTransaction { to, calldata, .. } = tx;
        let tx_hash = send(&mut t.inner, from, to, calldata)?;
        out.set(&tx_hash.0);
        Ok(())
    })
}

/// Deploys `EhrConsent` over the transport's registry from `from`; its
/// address once mined.
fn deploy(transport: &mut FfiTransport, from: Address) -> Result<Address, Error> {
    match transport {
        #[cfg(feature = "devnet")]
        FfiTransport::Devnet(d) => {
            let net = d.devnet_mut();
            let code = ehrchain_contracts::consent_creation_code(net.registry());
            let consent = net.deploy(from, "EhrConsent", code)?;
            net.mine();
            Ok(consent)
        }
        #[cfg(feature = "rpc")]
        FfiTransport::Rpc(r) => Ok(ehrchain_contracts::deploy_consent(r, from)?),
        FfiTransport::Callbacks(_) => {
            let _ = from;
            Err(needs(NEEDS))
        }
    }
}

/// Sends `calldata` to `to` from `from` and waits until it is mined.
fn send(
    transport: &mut FfiTransport,
    from: Address,
    to: Address,
    calldata: Bytes,
) -> Result<alloy_primitives::B256, Error> {
    match transport {
        #[cfg(feature = "devnet")]
        FfiTransport::Devnet(d) => {
            let net = d.devnet_mut();
            let receipt = net.execute(from, to, calldata)?;
            net.mine();
            if !receipt.status() {
                let reverted = TransportError::Reverted(ehrchain_core::rpc::Revert {
                    data: receipt.output.clone(),
                    tx_hash: Some(ehrchain_core::TxHash(receipt.tx_hash)),
                    message: "the consent transaction reverted".to_owned(),
                });
                return Err(refusal(&receipt.output, reverted));
            }
            Ok(receipt.tx_hash)
        }
        #[cfg(feature = "rpc")]
        FfiTransport::Rpc(r) => {
            let reverted = |e: TransportError| match &e {
                TransportError::Reverted(revert) => refusal(&revert.data.clone(), e),
                _ => Error::from(e),
            };
            let hash = r
                .send_from(from, Some(to), calldata, alloy_primitives::U256::ZERO)
                .map_err(reverted)?;
            let receipt = r.wait_for_receipt(&hash)?;
            if !receipt.status {
                let data = receipt.revert_data.clone().unwrap_or_default();
                return Err(reverted(TransportError::Reverted(
                    ehrchain_core::rpc::Revert {
                        data,
                        tx_hash: Some(receipt.tx_hash),
                        message: "the consent transaction reverted".to_owned(),
                    },
                )));
            }
            Ok(hash.0)
        }
        FfiTransport::Callbacks(_) => {
            let _ = (from, to, calldata);
            Err(needs(NEEDS))
        }
    }
}
