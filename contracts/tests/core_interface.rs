//! ehrchain-core's minimal `IEhrRegistry` interface (what the validator
//! decodes) matches the compiled registry: every selector, topic and error
//! selector is pinned to the bindings generated from the committed artifact.

use alloy_primitives::{B256, LogData};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use ehrchain_contracts::EhrRegistry;
use ehrchain_core::registry_abi::{DecodedRevert, IEhrRegistry as Core, RegistryErrors};

/// Expects each of core's items to have the compiled registry's values of
/// the named constants.
macro_rules! pin {
    ($($name:ident: $($constant:ident),+;)+) => {
        $($(
            assert_eq!(
                Core::$name::$constant,
                EhrRegistry::$name::$constant,
                concat!(stringify!($name), "::", stringify!($constant))
            );
        )+)+
    };
}

#[test]
fn calls_match_the_compiled_abi() {
    pin!(
        anchorRecordCall: SIGNATURE, SELECTOR;
        anchorBatchCall: SIGNATURE, SELECTOR;
        recordHashOfCall: SIGNATURE, SELECTOR;
        batchOfCall: SIGNATURE, SELECTOR;
        isRoleAllowedCall: SIGNATURE, SELECTOR;
        roleTermsOfCall: SIGNATURE, SELECTOR;
    );
    // The relayed call is declared beside the statement it takes.
    assert_eq!(
        ehrchain_core::authorship::anchorSignedRecordCall::SIGNATURE,
        EhrRegistry::anchorSignedRecordCall::SIGNATURE
    );
    assert_eq!(
        ehrchain_core::authorship::anchorSignedRecordCall::SELECTOR,
        EhrRegistry::anchorSignedRecordCall::SELECTOR
    );
}

#[test]
fn events_match_the_compiled_abi() {
    pin!(
        RecordAnchored: SIGNATURE, SIGNATURE_HASH;
        BatchAnchored: SIGNATURE, SIGNATURE_HASH;
    );
}

macro_rules! pin_errors {
    ($($name:ident),* $(,)?) => {{
        let mut pinned = Vec::new();
        $(
            pin!($name: SIGNATURE, SELECTOR;);
            pinned.push(Core::$name::SELECTOR);
        )*
        pinned
    }};
}

#[test]
fn errors_match_the_compiled_abi() {
    let pinned = pin_errors!(
        EhrRegistryUnknownTemplate,
        EhrRegistryTemplateInactive,
        EhrRegistryRoleNotAllowed,
        EhrRegistryTiAlreadyUsed,
        EhrRegistryZeroHash,
        EhrRegistryRootAlreadyAnchored,
        EhrRegistryZeroLeafCount,
        EhrRegistryRootNotAnchored,
        EhrRegistryBadSignature,
        EhrRegistryTemplateExists,
        EhrRegistryNoRoles,
        AccessControlUnauthorizedAccount,
    );
    // Every error core knows is pinned, and every error the compiled registry
    // can raise from anchorRecord, anchorBatch, verifyRecord or
    // registerTemplate is known to core.
    assert_eq!(pinned.len(), RegistryErrors::SELECTORS.len());
    let compiled = EhrRegistry::EhrRegistryErrors::SELECTORS;
    for selector in RegistryErrors::SELECTORS {
        assert!(compiled.contains(selector));
    }
}

#[test]
fn core_decodes_what_the_registry_reverts_with() {
    let error = EhrRegistry::EhrRegistryTiAlreadyUsed {
        tiId: B256::repeat_byte(1),
        storedRecordHash: B256::repeat_byte(2),
    };
    let revert = DecodedRevert::from_data(&error.abi_encode().into());
    assert_eq!(revert.error.as_deref(), Some("EhrRegistryTiAlreadyUsed"));
    assert_eq!(
        revert.registry_error(),
        Some(RegistryErrors::EhrRegistryTiAlreadyUsed(
            Core::EhrRegistryTiAlreadyUsed {
                tiId: B256::repeat_byte(1),
                storedRecordHash: B256::repeat_byte(2),
            }
        ))
    );
    let event = EhrRegistry::BatchAnchored {
        root: B256::repeat_byte(3),
        batchId: B256::repeat_byte(4),
        leafCount: 7,
    };
    let data: LogData = event.encode_log_data();
    let decoded = Core::BatchAnchored::decode_log_data(&data).unwrap();
    assert_eq!((decoded.root, decoded.leafCount), (event.root, 7));
}

/// Expects each of core's consent items to have the compiled `EhrConsent`'s
/// values of the named constants.
macro_rules! pin_consent {
    ($($name:ident: $($constant:ident),+;)+) => {
        $($(
            assert_eq!(
                ehrchain_core::consent_abi::IEhrConsent::$name::$constant,
                ehrchain_contracts::EhrConsent::$name::$constant,
                concat!(stringify!($name), "::", stringify!($constant))
            );
        )+)+
    };
}

#[test]
fn core_s_consent_interface_matches_the_compiled_contract() {
    pin_consent!(
        bindPatientCall: SIGNATURE, SELECTOR;
        publishRecipientKeyCall: SIGNATURE, SELECTOR;
        grantSignedCall: SIGNATURE, SELECTOR;
        revokeSignedCall: SIGNATURE, SELECTOR;
        recordDisclosureCall: SIGNATURE, SELECTOR;
        recordDisclosuresCall: SIGNATURE, SELECTOR;
        mayReceiveCall: SIGNATURE, SELECTOR;
        recipientKeyOfCall: SIGNATURE, SELECTOR;
        grantOfCall: SIGNATURE, SELECTOR;
        ConsentGranted: SIGNATURE, SIGNATURE_HASH;
        ConsentRevoked: SIGNATURE, SIGNATURE_HASH;
        Disclosed: SIGNATURE, SIGNATURE_HASH;
        RecipientKeyPublished: SIGNATURE, SIGNATURE_HASH;
        PatientBound: SIGNATURE, SIGNATURE_HASH;
        PatientUnbound: SIGNATURE, SIGNATURE_HASH;
    );
    // Every custom error of the contract is core's, with the same selector.
    let core = ehrchain_core::consent_abi::IEhrConsent::IEhrConsentErrors::SELECTORS;
    let compiled = ehrchain_contracts::EhrConsent::EhrConsentErrors::SELECTORS;
    let mut core = core.to_vec();
    let mut compiled = compiled.to_vec();
    core.sort_unstable();
    compiled.sort_unstable();
    assert_eq!(core, compiled);
    // The statements' EIP-712 types are the contract's.
    use alloy_sol_types::SolStruct;
    use ehrchain_core::consent_abi::{ConsentGrant, ConsentRevocation};
    assert_eq!(
        ConsentGrant::eip712_encode_type(),
        ehrchain_contracts::EhrConsent::ConsentGrant::eip712_encode_type()
    );
    assert_eq!(
        ConsentRevocation::eip712_encode_type(),
        ehrchain_contracts::EhrConsent::ConsentRevocation::eip712_encode_type()
    );
}
