//! Sharing a record with consent for JavaScript (docs/consent.md): the
//! core's holder check (`ShareCheck`), recipient check (`ReceiveCheck`),
//! disclosure transaction and accounting, and the calls and EIP-712
//! statements of `EhrConsent`. Sans-I/O like the core: each check hands out
//! the JSON-RPC requests of its reads at one mined block and judges their
//! results; `js/sharing.js` moves them over an EIP-1193 provider.

use alloy_sol_types::SolCall;
use ehrchain_core::capsule::{Authority, KeyCapsule};
use ehrchain_core::consent_abi::{
    ConsentDomain, ConsentGrant, ConsentStatement, Disclosure, IEhrConsent,
};
use ehrchain_core::rpc::{self, BlockTag, RpcRequest};
use ehrchain_core::sharing::{
    AccountingQuery, ChainLog, ChainRead, MinedBlock, ReadAnswers, SharingContext, SharingError,
    disclosure_transaction as core_disclosure_transaction,
};
use ehrchain_core::{B256, UnixMillis};
use rand_core::OsRng;
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use crate::batch::proof_of;
use crate::capsule::{envelope, public_key, suite};
use crate::convert::{self, hex};
use crate::error::Failure;
use crate::handshaker::Handshaker;
use crate::keystore::recipient_key;
use crate::rpc::request_js;
use crate::signed_proof::signed_proof_of;

/// The `{method, params}` of each of `requests`.
fn requests_js(requests: impl IntoIterator<Item = RpcRequest>) -> Result<JsValue, Failure> {
    let requests: Vec<Value> = requests
        .into_iter()
        .map(|r| json!({ "method": r.method, "params": r.params }))
        .collect();
    convert::to_js(&requests)
}

/// The `eth_call` requests of `reads` at the mined block `block`.
fn read_requests(reads: &[ChainRead], block: &JsValue) -> Result<JsValue, Failure> {
    let block: MinedBlock = convert::value(block, "block")?;
    requests_js(reads.iter().map(|read| read.request(block.number)))
}

/// The answers of a check: `block` and the results of its `eth_call`s.
fn read_answers(block: &JsValue, results: &JsValue) -> Result<ReadAnswers, Failure> {
    let block: MinedBlock = convert::value(block, "block")?;
    let results: Vec<Value> = convert::value(results, "results")?;
    let answers = results
        .iter()
        .map(rpc::data)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReadAnswers { block, answers })
}

/// `object` with `bytes` set as a `Uint8Array` under `key`.
fn with_bytes(object: JsValue, key: &str, bytes: &[u8]) -> Result<JsValue, Failure> {
    js_sys::Reflect::set(
        &object,
        &JsValue::from_str(key),
        &js_sys::Uint8Array::from(bytes),
    )
    .map_err(|_| Failure::bad_input("the result could not be built"))?;
    Ok(object)
}

/// The request of the newest mined block (`eth_getBlockByNumber("latest")`):
/// the block every read of a check is made at.
///
/// # Errors
/// `EHR_INTERNAL` only.
#[wasm_bindgen(js_name = minedBlockRequest, unchecked_return_type = "{ method: string; params: unknown[] }")]
pub fn mined_block_request() -> Result<JsValue, JsValue> {
    Ok(request_js(&RpcRequest::block(BlockTag::Latest))?)
}

/// The mined block (`{number, time}`, time in Unix milliseconds) in the
/// node's answer to `minedBlockRequest`.
///
/// # Errors
/// `EHR_TRANSPORT_MALFORMED` for an answer without number or timestamp.
#[wasm_bindgen(js_name = minedBlockOf, unchecked_return_type = "MinedBlock")]
pub fn mined_block_of(
    #[wasm_bindgen(unchecked_param_type = "unknown")] result: JsValue,
) -> Result<JsValue, JsValue> {
    let block: Value = convert::value(&result, "block")?;
    let member = |name: &str| block.get(name).cloned().unwrap_or(Value::Null);
    let mined = MinedBlock {
        number: rpc::quantity(&member("number"), "the latest block's number")
            .map_err(Failure::from)?,
        time: UnixMillis::from_secs(
            rpc::quantity(&member("timestamp"), "the latest block's timestamp")
                .map_err(Failure::from)?,
        ),
    };
    Ok(convert::to_js(&mined)?)
}

/// The holder's check before sharing one record with one recipient (the
/// core's `ShareCheck`): the reads at one mined block, then the capsule.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ShareCheck {
    inner: ehrchain_core::sharing::ShareCheck,
}

#[wasm_bindgen]
impl ShareCheck {
    /// The check of sharing `envelope` with `recipient` under `authority`
    /// (`{grant}`, the grant the holder expects to hold, or `"emergency"`).
    ///
    /// # Errors
    /// `EHR_ENVELOPE_MALFORMED`; `EHR_INVALID_ARGUMENT` or
    /// `EHR_INVALID_JSON` for a malformed context, recipient or authority.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SharingContext")] context: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] envelope: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] recipient: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CapsuleAuthority")] authority: JsValue,
    ) -> Result<ShareCheck, JsValue> {
        let context: SharingContext = convert::document(&context, "context")?;
        let authority: Authority = convert::value(&authority, "authority")?;
        let inner = ehrchain_core::sharing::ShareCheck::new(
            &context,
            &self::envelope(&envelope)?,
            convert::address(&recipient, "recipient")?,
            authority,
        );
        Ok(Self { inner })
    }

    /// Seals the record's key for the recipient's `publicKey` of `suite`
    /// once `results` (of `requests(block)`, in order) say it may receive
    /// the record and the key is the one it published; the master key
    /// comes from `handshaker`'s key store. Returns `{capsule, disclosure,
    /// authority, checkedAt}`.
    ///
    /// # Errors
    /// `EHR_CONSENT_NO_GRANT`, `EHR_CONSENT_REVOKED`, `EHR_CONSENT_EXPIRED`,
    /// `EHR_CONSENT_WRONG_TEMPLATE`, `EHR_CONSENT_NO_EMERGENCY_ROLE`,
    /// `EHR_RECIPIENT_KEY_NOT_PUBLISHED`, `EHR_RECIPIENT_KEY_MISMATCH`, the
    /// capsule's and envelope's errors; `EHR_TRANSPORT_MALFORMED` for
    /// results that are no call data.
    #[wasm_bindgen(unchecked_return_type = "Share")]
    pub fn seal(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MinedBlock")] block: JsValue,
        #[wasm_bindgen(unchecked_param_type = "unknown[]")] results: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CapsuleSuite | undefined")] suite: JsValue,
        #[wasm_bindgen(js_name = publicKey, unchecked_param_type = "Uint8Array")]
        public_key: JsValue,
        handshaker: &Handshaker,
    ) -> Result<JsValue, JsValue> {
        let answers = read_answers(&block, &results)?;
        let key = self::public_key(self::suite(&suite)?, &public_key)?;
        let keys = handshaker.inner.generator().key_store();
        let share = self
            .inner
            .seal(&answers, &key, keys, &mut OsRng)
            .map_err(Failure::from)?;
        let json = json!({
            "disclosure": share.disclosure,
            "authority": share.authority,
            "checkedAt": share.checked_at,
        });
        Ok(with_bytes(
            convert::to_js(&json)?,
            "capsule",
            share.capsule.as_bytes(),
        )?)
    }
}

/// The recipient's check of a shared record (the core's `ReceiveCheck`):
/// the reads at one mined block, then the record and its evidence.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ReceiveCheck {
    inner: ehrchain_core::sharing::ReceiveCheck,
    suite: ehrchain_core::capsule::CapsuleSuite,
    /// The recipient key the capsule names.
    key_id: ehrchain_core::B256,
}

#[wasm_bindgen]
impl ReceiveCheck {
    /// The check of `capsule`, received by `recipient`, for `envelope`;
    /// with the record's inclusion `proof` (any form) when the record was
    /// anchored in a Merkle batch: then the registry's `batchOf` of the
    /// proof's root is read instead of `recordHashOf`; or with its
    /// `signedProof` (version 2) for a signed batch, when the author's
    /// roles are read too.
    ///
    /// # Errors
    /// `EHR_CAPSULE_MALFORMED`, `EHR_CAPSULE_UNSUPPORTED`,
    /// `EHR_ENVELOPE_MALFORMED`; the proof's errors, and `EHR_PROOF_INVALID`
    /// for a proof of another record; `EHR_INVALID_ARGUMENT` or
    /// `EHR_INVALID_JSON` for a malformed context or recipient.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SharingContext")] context: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] recipient: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] capsule: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] envelope: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ProofInput")] proof: Option<JsValue>,
        #[wasm_bindgen(js_name = signedProof, unchecked_optional_param_type = "Uint8Array | string | object")]
        signed_proof: Option<JsValue>,
    ) -> Result<ReceiveCheck, JsValue> {
        let context: SharingContext = convert::document(&context, "context")?;
        let capsule =
            KeyCapsule::from_bytes(&convert::bytes(&capsule, "capsule")?).map_err(Failure::from)?;
        let (suite, key_id) = (capsule.suite(), capsule.recipient_key_id());
        let inner = ehrchain_core::sharing::ReceiveCheck::new(
            &context,
            convert::address(&recipient, "recipient")?,
            capsule,
            self::envelope(&envelope)?,
        );
        let given = |p: Option<JsValue>| p.filter(|p| !p.is_undefined() && !p.is_null());
        let inner = match (given(proof), given(signed_proof)) {
            (Some(proof), _) => inner.with_proof(proof_of(&proof)?),
            (None, Some(proof)) => inner.with_signed_proof(signed_proof_of(&proof)?),
            (None, None) => Ok(inner),
        }
        .map_err(Failure::from)?;
        Ok(Self {
            inner,
            suite,
            key_id,
        })
    }

    /// Opens the capsule with the recipient's 32-byte `privateKey` (or the
    /// key a `RecipientKeyStore` answers for the capsule's key id and suite)
    /// and the envelope with the record key, then checks against `results` (of
    /// `requests(block)`, in order) that the record is anchored and the
    /// grant holds. Returns `{record, evidence}`.
    ///
    /// # Errors
    /// The capsule's errors (`EHR_CAPSULE_WRONG_KEY`, …),
    /// `EHR_RECORD_NOT_ANCHORED`, `EHR_RECORD_ANCHOR_MISMATCH` (for a
    /// batched record `EHR_PROOF_NOT_ANCHORED`, `EHR_PROOF_ANCHOR_MISMATCH`), the consent
    /// errors of `ShareCheck.seal`; `EHR_TRANSPORT_MALFORMED` for results
    /// that are no call data.
    #[wasm_bindgen(unchecked_return_type = "Received")]
    pub fn open(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MinedBlock")] block: JsValue,
        #[wasm_bindgen(unchecked_param_type = "unknown[]")] results: JsValue,
        #[wasm_bindgen(js_name = privateKey, unchecked_param_type = "Uint8Array | RecipientKeyStore")]
        private_key: JsValue,
    ) -> Result<JsValue, JsValue> {
        let answers = read_answers(&block, &results)?;
        let key = recipient_key(&private_key, self.suite, &self.key_id)?;
        let received = self.inner.open(&answers, &key).map_err(Failure::from)?;
        let json = json!({ "evidence": received.evidence });
        Ok(with_bytes(
            convert::to_js(&json)?,
            "record",
            &received.record,
        )?)
    }
}

/// The `requests(block)` method of a check `$class` (`ShareCheck`,
/// `ReceiveCheck`), whose core check is `inner`: the `eth_call` requests of
/// its reads (`$reads`), pinned to the mined `block`.
#[rustfmt::skip] // rustfmt re-indents the long parameter attributes on every run
macro_rules! requests_method {
    ($class:ident, $reads:literal) => {
        #[wasm_bindgen]
        impl $class {
            #[doc = concat!("The `eth_call` requests of the reads (", $reads, "), pinned to the mined `block`.")]
            ///
            /// # Errors
            /// `EHR_INVALID_ARGUMENT` for a malformed block.
            #[wasm_bindgen(unchecked_return_type = "{ method: string; params: unknown[] }[]")]
            pub fn requests(
                &self,
                #[wasm_bindgen(unchecked_param_type = "MinedBlock")] block: JsValue,
            ) -> Result<JsValue, JsValue> {
                Ok(read_requests(&self.inner.reads(), &block)?)
            }
        }
    };
}

requests_method!(ShareCheck, "`mayReceive`, `grantOf`, `recipientKeyOf`");
requests_method!(
    ReceiveCheck,
    "`mayReceive`, `grantOf`, the registry's `recordHashOf` (`batchOf` with a proof)"
);

/// The transaction that records `disclosures` on `EhrConsent`
/// (`recordDisclosure` for one, `recordDisclosures` for several), for a
/// custodian's account to send: `{chainId, to, calldata}`.
///
/// # Errors
/// `EHR_DISCLOSURE_REFUSED` for an empty list; `EHR_INVALID_JSON` for a
/// malformed context or disclosure.
#[wasm_bindgen(js_name = disclosureTransaction, unchecked_return_type = "ConsentTransaction")]
pub fn disclosure_transaction(
    #[wasm_bindgen(unchecked_param_type = "SharingContext")] context: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Disclosure[]")] disclosures: JsValue,
) -> Result<JsValue, JsValue> {
    let context: SharingContext = convert::document(&context, "context")?;
    let disclosures: Vec<Disclosure> = convert::document(&disclosures, "disclosures")?;
    let tx = core_disclosure_transaction(&context, &disclosures).map_err(Failure::from)?;
    Ok(convert::to_js(&tx)?)
}

/// The error `EhrConsent`'s revert `data` (hex) amounts to (a revoked,
/// expired or missing grant: `EHR_CONSENT_REVOKED`, `EHR_CONSENT_EXPIRED`,
/// `EHR_CONSENT_NO_GRANT`; other refusals `EHR_DISCLOSURE_REFUSED`), or
/// `undefined` when it is no error of `EhrConsent`.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT` for data that is not hex.
#[wasm_bindgen(js_name = consentRefusal, unchecked_return_type = "EhrchainError | undefined")]
pub fn consent_refusal(
    #[wasm_bindgen(unchecked_param_type = "string")] data: JsValue,
) -> Result<JsValue, JsValue> {
    let data = convert::bytes(&data, "data")?;
    Ok(SharingError::from_revert(&data).map_or(JsValue::UNDEFINED, |e| Failure::from(e).into()))
}

/// The two `eth_getLogs` requests of a pseudonym's accounting on the
/// `EhrConsent` of `query` (`{consent, subject}`), from block `fromBlock`
/// (default 0) to the latest.
///
/// # Errors
/// `EHR_INVALID_JSON` for a malformed query; `EHR_INVALID_ARGUMENT` for a
/// bad block number.
#[wasm_bindgen(js_name = accountingRequests, unchecked_return_type = "{ method: string; params: unknown[] }[]")]
pub fn accounting_requests(
    #[wasm_bindgen(unchecked_param_type = "AccountingQuery")] query: JsValue,
    #[wasm_bindgen(js_name = fromBlock, unchecked_optional_param_type = "number")]
    from_block: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let query: AccountingQuery = convert::document(&query, "query")?;
    let from = match from_block {
        Some(n) if !n.is_undefined() => convert::uint(&n, "fromBlock")?,
        _ => 0,
    };
    Ok(requests_js(
        query.requests(BlockTag::Number(from), BlockTag::Latest),
    )?)
}

/// The accounting (`{disclosures, grants}`) in `results`, the node's
/// answers to `accountingRequests` (logs a reorg removed are left out).
///
/// # Errors
/// `EHR_TRANSPORT_MALFORMED` for an answer that is no list of logs.
#[wasm_bindgen(js_name = accountingOf, unchecked_return_type = "Accounting")]
pub fn accounting_of(
    #[wasm_bindgen(unchecked_param_type = "AccountingQuery")] query: JsValue,
    #[wasm_bindgen(unchecked_param_type = "unknown[]")] results: JsValue,
) -> Result<JsValue, JsValue> {
    let query: AccountingQuery = convert::document(&query, "query")?;
    let results: Vec<Value> = convert::value(&results, "results")?;
    let mut logs = Vec::new();
    for result in &results {
        logs.extend(ChainLog::from_rpc(result).map_err(Failure::from)?);
    }
    Ok(convert::to_js(&query.accounting(&logs))?)
}

/// The `eth_signTypedData_v4` document of a consent `statement` (a
/// `ConsentGrant`, or a `ConsentRevocation` when it has a `grantId`) under
/// `domain` (`{chainId, consent}`): what the patient's wallet signs.
///
/// # Errors
/// `EHR_INVALID_JSON` for a malformed domain or statement.
#[wasm_bindgen(js_name = consentTypedData, unchecked_return_type = "ConsentTypedData")]
pub fn consent_typed_data(
    #[wasm_bindgen(unchecked_param_type = "ConsentDomain")] domain: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ConsentGrant | ConsentRevocation")] statement: JsValue,
) -> Result<JsValue, JsValue> {
    let domain: ConsentDomain = convert::document(&domain, "domain")?;
    let statement: ConsentStatement = convert::document(&statement, "statement")?;
    Ok(convert::to_js(&statement.typed_data(&domain))?)
}

/// The id of `grant` under `domain`: its EIP-712 digest, the id
/// `EhrConsent` stores it under and capsules name.
///
/// # Errors
/// `EHR_INVALID_JSON` for a malformed domain or grant.
#[wasm_bindgen(js_name = consentGrantId, unchecked_return_type = "Hex")]
pub fn consent_grant_id(
    #[wasm_bindgen(unchecked_param_type = "ConsentDomain")] domain: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ConsentGrant")] grant: JsValue,
) -> Result<String, JsValue> {
    let domain: ConsentDomain = convert::document(&domain, "domain")?;
    let grant: ConsentGrant = convert::document(&grant, "grant")?;
    Ok(hex(grant.grant_id(&domain).as_slice()))
}

/// The EIP-712 digest of a consent `statement` (a `ConsentGrant`, or a
/// `ConsentRevocation` when it has a `grantId`) under `domain` (`{chainId,
/// consent}`): what the patient signs without a wallet (a key or an HSM
/// signing a 32-byte hash; `localSigner`'s `signConsent` does both steps),
/// the digest of `consentTypedData`'s document. For a grant, its grant id
/// (`consentGrantId`). C's `ehr_consent_signing_digest`.
///
/// # Errors
/// `EHR_INVALID_JSON` for a malformed domain or statement.
#[wasm_bindgen(js_name = consentSigningDigest, unchecked_return_type = "Hex")]
pub fn consent_signing_digest(
    #[wasm_bindgen(unchecked_param_type = "ConsentDomain")] domain: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ConsentGrant | ConsentRevocation")] statement: JsValue,
) -> Result<String, JsValue> {
    Ok(hex(consent_digest(&domain, &statement)?.as_slice()))
}

/// The EIP-712 digest of the consent `statement` under `domain` (the core's
/// `ConsentStatement::signing_hash`), from their JS documents.
pub(crate) fn consent_digest(domain: &JsValue, statement: &JsValue) -> Result<B256, Failure> {
    let domain: ConsentDomain = convert::document(domain, "domain")?;
    let statement: ConsentStatement = convert::document(statement, "statement")?;
    Ok(statement.signing_hash(&domain))
}

/// Calldata relaying a consent `statement` its patient signed (`grantSigned`
/// for a `ConsentGrant`, `revokeSigned` for a `ConsentRevocation`): anyone
/// may send it.
///
/// # Errors
/// `EHR_INVALID_JSON` for a malformed statement; `EHR_INVALID_ARGUMENT`
/// for a signature that is not hex.
#[wasm_bindgen(js_name = consentRelayCall, unchecked_return_type = "Hex")]
pub fn consent_relay_call(
    #[wasm_bindgen(unchecked_param_type = "ConsentGrant | ConsentRevocation")] statement: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] signature: JsValue,
) -> Result<String, JsValue> {
    let signature = convert::bytes(&signature, "signature")?.into();
    let statement: ConsentStatement = convert::document(&statement, "statement")?;
    Ok(hex(&statement.relay_call(signature)))
}

/// The creation code of `EhrConsent` over `registry` (whose roles it reads),
/// to deploy it with `eth_sendTransaction({from, data})`.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT` for a malformed address.
#[wasm_bindgen(js_name = consentBytecode, unchecked_return_type = "Hex")]
pub fn consent_bytecode(
    #[wasm_bindgen(unchecked_param_type = "string")] registry: JsValue,
) -> Result<String, JsValue> {
    let registry = convert::address(&registry, "registry")?;
    Ok(hex(&ehrchain_contracts::consent_creation_code(registry)))
}

/// Calldata of `bindPatient(subject, account)`: a custodian binds the
/// patient's (or guardian's) account to the pseudonym.
///
/// # Errors
/// `EHR_INVALID_ARGUMENT` for a malformed pseudonym or account.
#[wasm_bindgen(js_name = bindPatientCall, unchecked_return_type = "Hex")]
pub fn bind_patient_call(
    #[wasm_bindgen(unchecked_param_type = "string")] subject: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] account: JsValue,
) -> Result<String, JsValue> {
    let call = IEhrConsent::bindPatientCall {
        subject: convert::b256(&subject, "subject")?,
        account: convert::address(&account, "account")?,
    };
    Ok(hex(&call.abi_encode()))
}

/// Calldata of `publishRecipientKey(keyId, kem, keyHash)` for the recipient
/// `publicKey` of `suite`: the recipient publishes (or rotates) its key.
///
/// # Errors
/// `EHR_RECIPIENT_KEY_INVALID` for a key that is not one of `suite`.
#[wasm_bindgen(js_name = publishRecipientKeyCall, unchecked_return_type = "Hex")]
pub fn publish_recipient_key_call(
    #[wasm_bindgen(unchecked_param_type = "CapsuleSuite")] suite: JsValue,
    #[wasm_bindgen(js_name = publicKey, unchecked_param_type = "Uint8Array")] public_key: JsValue,
) -> Result<String, JsValue> {
    let key = self::public_key(self::suite(&suite)?, &public_key)?;
    Ok(hex(
        &IEhrConsent::publishRecipientKeyCall::of_key(&key).abi_encode()
    ))
}
