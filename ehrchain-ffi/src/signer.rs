//! Author signatures from C: `ehr_signer` (a local key, or the vendor's HSM
//! or smart card behind `ehr_signer_callbacks`), the signed submit, and the
//! two steps for hosts whose signer answers later (`ehr_tc_signing_digest`,
//! `ehr_tc_typed_data`, `ehr_tc_attach_signature`). Every check is core's
//! (`ehrchain_core::authorship`); this module converts.

use std::ffi::{c_char, c_void};

use ehrchain_core::authorship::{AuthorshipError, LocalSigner, Signer, SigningRequest};
use ehrchain_core::{Address, ErrorCode};

use crate::callbacks;
use crate::cancel::ehr_cancel;
use crate::config::{ehr_validator_config, validator_config};
use crate::handshaker::{ack_part, ehr_ack, ehr_handshaker, ehr_tc, not_present};
use crate::outbox::{Durable, ehr_outbox_callbacks};
use crate::ptr::{self, Out, OutArray};
use crate::result::{Error, Result, ehr_result, guard};
use crate::shapes::{free, guard_on, json_text, text_of};
use crate::ti::ehr_ti;
use crate::transport::ehr_transport;
use crate::validator::ehr_validator;

/// An author's signer as C callbacks: the vendor's HSM or smart card.
/// `userdata` is passed back unchanged as the first argument and must stay
/// valid as long as any signer made from these callbacks.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ehr_signer_callbacks {
    /// `sizeof(ehr_signer_callbacks)` as the host's header declares it
    /// (`EHR_SIGNER_CALLBACKS_INIT` sets it): which of the fields below
    /// the host's struct has (README, "Extensible structs").
    pub struct_size: usize,
    /// Passed to every callback.
    pub userdata: *mut c_void,
    /// The author's 20-byte account: what the statement names as `author`.
    pub author: [u8; 20],
    /// Signs one statement: `digest` is its 32-byte EIP-712 digest (what an
    /// HSM signs), `typed_data` its `eth_signTypedData_v4` JSON
    /// (`typed_data_len` bytes of UTF-8, not NUL-terminated; what a device
    /// with a screen shows). Writes the 65-byte signature `r ‖ s ‖ v` (`v`
    /// 27 or 28, low `s`) to `signature_out` and returns `EHR_OK`, or any
    /// other code when it makes none (the TI then gets an invalid ACK with
    /// `EHR_SIGNER_FAILED`). What it writes is checked before anything is
    /// sent. Called from the thread that called into ehrchain. Required.
    pub sign: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            digest: *const u8,
            typed_data: *const c_char,
            typed_data_len: usize,
            signature_out: *mut u8,
        ) -> ehr_result,
    >,
}

/// Signs statements for one author: a secp256k1 key in memory
/// (`ehr_signer_new_local`) or the host's callbacks
/// (`ehr_signer_new_callbacks`).
///
/// Thread safety: a local signer may be used from several threads at once;
/// a callback signer calls its callback on the calling thread.
pub struct ehr_signer {
    pub(crate) signer: FfiSigner,
}

pub(crate) enum FfiSigner {
    Local(LocalSigner),
    /// The host's callbacks, and whether the author is a smart account.
    Callbacks(ehr_signer_callbacks, bool),
}

impl Signer for FfiSigner {
    fn address(&self) -> Address {
        match self {
            Self::Local(key) => key.address(),
            Self::Callbacks(cb, _) => Address::from(cb.author),
        }
    }

    fn is_smart_account(&self) -> bool {
        matches!(self, Self::Callbacks(_, true))
    }

    fn sign(&self, request: &SigningRequest) -> std::result::Result<Vec<u8>, AuthorshipError> {
        match self {
            Self::Local(key) => key.sign(request),
            Self::Callbacks(..) => self
                .sign_typed(&request.digest().0, &request.typed_data())
                .map(|s| s.to_vec()),
        }
    }
}

impl FfiSigner {
    /// The 65-byte signature of an EIP-712 statement: its `digest` signed by
    /// a local key, or by the host's callback, which is shown `typed_data`
    /// too (an author's record statement, a patient's consent statement).
    pub(crate) fn sign_typed(
        &self,
        digest: &[u8; 32],
        typed_data: &serde_json::Value,
    ) -> std::result::Result<[u8; 65], AuthorshipError> {
        match self {
            Self::Local(key) => key.sign_digest(digest),
            Self::Callbacks(cb, _) => {
                let mut signature = [0u8; 65];
                match callbacks::sign(cb, digest, &typed_data.to_string(), &mut signature) {
                    ehr_result::OK => Ok(signature),
                    code => Err(AuthorshipError::SignerFailed {
                        message: format!("the host's sign callback returned {}", code.name()),
                    }),
                }
            }
        }
    }
}

/// Makes a signer of the 32-byte secp256k1 secret key at `secret` (copied;
/// zeroized when the signer is freed). It signs with RFC 6979
/// deterministic nonces. `EHR_SIGNER_FAILED` when the bytes are not a
/// secret key (zero, or not below the curve order). Free it with
/// `ehr_signer_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signer_new_local(
    secret: *const u8,
    signer_out: *mut *mut ehr_signer,
) -> ehr_result {
    guard(|| {
        let secret = ptr::secret32(secret, "secret")?;
        let out = Out::new(signer_out, "signer_out")?;
        out.give(ehr_signer {
            signer: FfiSigner::Local(LocalSigner::from_bytes(&secret)?),
        });
        Ok(())
    })
}

/// Makes a signer over the host's callbacks (copied). `smart_account`: the
/// author is a smart account (ERC-1271, a hospital's multisig or passkey
/// wallet), whose signatures only the registry can check (here only the
/// statement is; a bad signature is the registry's `EhrRegistryBadSignature`);
/// false for a key (an HSM, a card), whose signatures are checked before
/// anything is sent. `EHR_NULL_ARGUMENT` when `callbacks->sign` is NULL.
/// Free it with `ehr_signer_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signer_new_callbacks(
    callbacks: *const ehr_signer_callbacks,
    smart_account: bool,
    signer_out: *mut *mut ehr_signer,
) -> ehr_result {
    guard(|| {
        let cb = ptr::extensible(callbacks, "callbacks")?;
        ptr::required(cb.sign, "callbacks->sign")?;
        Out::new(signer_out, "signer_out")?.give(ehr_signer {
            signer: FfiSigner::Callbacks(cb, smart_account),
        });
        Ok(())
    })
}

/// Writes the signer's 20-byte account (the author) to `address_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signer_address(
    signer: *const ehr_signer,
    address_out: *mut u8,
) -> ehr_result {
    guard_on(signer, "signer", |s| {
        OutArray::<20>::new(address_out, "address_out")?.set(&s.signer.address().0.0);
        Ok(())
    })
}

/// Writes a local signer's 65-byte signature (`r ‖ s ‖ v`) of the 32-byte
/// `digest` to `signature_out`: what an HSM callback returns, for hosts that
/// emulate one in tests. `EHR_INVALID_ARGUMENT` for a callback signer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signer_sign_digest(
    signer: *const ehr_signer,
    digest: *const u8,
    signature_out: *mut u8,
) -> ehr_result {
    guard_on(signer, "signer", |s| {
        let digest = ptr::array::<32>(digest, "digest")?;
        let out = OutArray::<65>::new(signature_out, "signature_out")?;
        let FfiSigner::Local(key) = &s.signer else {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "only a local signer (ehr_signer_new_local) signs a digest here; a callback signer is the host's own",
            ));
        };
        out.set(&key.sign_digest(&digest)?);
        Ok(())
    })
}

/// Frees a signer; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_signer_free(signer: *mut ehr_signer) {
    free(signer);
}

/// `ehr_handshaker_submit_durably` for a TI its author signs through
/// `signer`: the TC calls `anchorSignedRecord`, which the transport's
/// account relays (it needs the registry's `RELAYER_ROLE`; the author needs
/// the template's role). A signer that makes no signature, or one that is
/// not the author's, gives an invalid ACK (`EHR_SIGNER_FAILED`,
/// `EHR_SIGNATURE_WRONG_SIGNER`, … in its reason) before anything is sent.
/// The ACK names the author (`ehr_ack_summary.author`, `ehr_ack_signature`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_handshaker_submit_signed(
    handshaker: *mut ehr_handshaker,
    ti: *const ehr_ti,
    signer: *const ehr_signer,
    transport: *mut ehr_transport,
    outbox: *const ehr_outbox_callbacks,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
    ack_out: *mut *mut ehr_ack,
) -> ehr_result {
    guard(|| {
        let signer = ptr::handle(signer, "signer")?;
        let request = Durable::new(handshaker, ti, transport, outbox, deadline_ms, cancel)?;
        request.submit(Some(&signer.signer), ack_out)
    })
}

/// The signing request of `tc` for the 20-byte `author`.
fn request(tc: &ehr_tc, author: *const u8) -> Result<SigningRequest> {
    let author = ptr::address(author, "author")?;
    Ok(SigningRequest::new(tc.tc.clone(), author)?)
}

/// Step one of signing later: writes the 32-byte EIP-712 digest the 20-byte
/// `author` signs for `tc` (under the TC's chain and registry) to
/// `digest_out`. `EHR_STATEMENT_MISMATCH` for a TC that is not one
/// `anchorRecord` call (a batch, or one already signed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_signing_digest(
    tc: *const ehr_tc,
    author: *const u8,
    digest_out: *mut u8,
) -> ehr_result {
    guard_on(tc, "tc", |tc| {
        let request = request(tc, author)?;
        OutArray::<32>::new(digest_out, "digest_out")?.set(&request.digest().0);
        Ok(())
    })
}

/// Step one, for a device that shows what it signs: writes the
/// `eth_signTypedData_v4` JSON of `tc`'s statement by the 20-byte `author`
/// as NUL-terminated text into `buf` (text-output rules:
/// `ehr_result_message`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_typed_data(
    tc: *const ehr_tc,
    author: *const u8,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(tc, buf, len, out_len, "tc", |tc| {
        json_text(&request(tc, author)?.typed_data())
    })
}

/// Step two: checks `signature` (`signature_len` bytes; 65 when well formed)
/// is the 20-byte `author`'s over `tc`'s statement and writes the signed TC
/// (`anchorSignedRecord`, for a relayer to send) to `tc_out`; free it with
/// `ehr_tc_free`. `EHR_SIGNATURE_MALFORMED` (length, `v`, high `s`) or
/// `EHR_SIGNATURE_WRONG_SIGNER` when it is not.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_attach_signature(
    tc: *const ehr_tc,
    author: *const u8,
    signature: *const u8,
    signature_len: usize,
    tc_out: *mut *mut ehr_tc,
) -> ehr_result {
    guard_on(tc, "tc", |tc| {
        let signature = ptr::bytes(signature, signature_len, "signature")?;
        let out = Out::new(tc_out, "tc_out")?;
        out.give(ehr_tc {
            tc: request(tc, author)?.attach(signature)?,
        });
        Ok(())
    })
}

/// Step two for a host that drives validators itself: the validator of
/// `tc` signed by the 20-byte `author` with `signature` (`signature_len`
/// bytes), with `config` (NULL for the defaults); free it with
/// `ehr_validator_free`. A signature that is not the author's, or none
/// (`signature` NULL: the author's signer failed or the author declined),
/// gives a finished validator whose one ACK is invalid, and nothing is
/// sent (JavaScript's `validatorForSigned`). `smart_account`: the author is
/// a smart account (ERC-1271: a hospital's multisig or passkey wallet),
/// whose signature (any length) only the registry can check; a bad one is
/// refused on chain (`EhrRegistryBadSignature`, an invalid ACK with the
/// decoded revert). `EHR_STATEMENT_MISMATCH` for a TC that is not one
/// `anchorRecord` call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_validator_signed(
    tc: *const ehr_tc,
    author: *const u8,
    smart_account: bool,
    signature: *const u8,
    signature_len: usize,
    config: *const ehr_validator_config,
    validator_out: *mut *mut ehr_validator,
) -> ehr_result {
    guard_on(tc, "tc", |tc| {
        let signature = (!signature.is_null())
            .then(|| ptr::bytes(signature, signature_len, "signature").map(<[u8]>::to_vec))
            .transpose()?
            .ok_or_else(|| AuthorshipError::SignerFailed {
                message: "none was handed in (NULL): the signer failed, or the author declined"
                    .to_owned(),
            });
        let config = validator_config(config)?;
        let out = Out::new(validator_out, "validator_out")?;
        let request = request(tc, author)?;
        let request = if smart_account {
            request.for_smart_account()
        } else {
            request
        };
        out.give(ehr_validator::new(request.validator(signature, config)));
        Ok(())
    })
}

/// Writes what the author of a signed TC (`anchorSignedRecord`, as
/// `ehr_tc_attach_signature` or a signed submit made it, or a relayer read
/// it back with `ehr_tc_from_json`) signed, as NUL-terminated JSON into
/// `buf` (text-output rules: `ehr_result_message`): `{"statement":
/// {"tiId", "templateId", "recordHash", "subject", "role", "author",
/// "timestamp"}, "signature"}`, JavaScript's `tc.authorship`.
/// Read from the calldata, not checked: `ehr_tc_validator_signed` and the
/// pipeline's admit check it. `EHR_NOT_PRESENT` for a TC its author did not
/// sign.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_tc_authorship(
    tc: *const ehr_tc,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    text_of(tc, buf, len, out_len, "tc", |tc| {
        match tc.tc.signed_statement() {
            Some(signed) => json_text(&signed),
            None => Err(not_present("the TC is not signed by its author")),
        }
    })
}

/// Writes the author's signature (65 bytes when well formed) of a signed
/// TI's ACK into `buf` (byte-output rules: `ehr_envelope_open`);
/// `EHR_NOT_PRESENT` when the TI was not signed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_ack_signature(
    ack: *const ehr_ack,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ehr_result {
    ack_part(
        ack,
        (buf, len, out_len),
        "the ACK's TI was not signed by its author",
        |ack| ack.authorship.as_ref().map(|signed| &signed.signature[..]),
    )
}
