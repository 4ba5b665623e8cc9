//! `anchorSignedRecord`: a relayer anchors a record its author signed
//! (docs/authorship.md). The registry checks the *author's* role and
//! signature, under the same EIP-712 domain ehrchain-core signs for, and
//! names the author in `RecordAnchored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{Address, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use common::{
    deploy_smart_account, devnet_with_built_ins, h, registry_error, role, signed_anchor, template,
};
use ehrchain_contracts::EhrRegistry::{self, EhrRegistryErrors as E};
use ehrchain_contracts::{Devnet, Receipt};
use ehrchain_core::authorship::{RecordStatement, SigningDomain};

/// secp256k1's group order n, for the malleable twin of a signature.
const ORDER: U256 = U256::from_be_slice(&[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

/// A devnet where a doctor (with a key of their own) may write blood
/// pressures and a gateway account relays.
struct Setup {
    net: Devnet,
    author: PrivateKeySigner,
    relayer: Address,
    statement: RecordStatement,
}

fn setup() -> Setup {
    let (mut net, templates) = devnet_with_built_ins();
    let author = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap();
    net.grant_role("doctor", author.address()).unwrap();
    let relayer = Devnet::account("gateway");
    net.grant_role("relayer", relayer).unwrap();
    let statement = RecordStatement {
        tiId: h(1),
        templateId: template(&templates, "blood-pressure").id(),
        recordHash: h(2),
        subject: h(3),
        role: role("doctor"),
        author: author.address(),
        timestamp: 1_767_225_000,
    };
    Setup {
        net,
        author,
        relayer,
        statement,
    }
}

impl Setup {
    fn domain(&self) -> SigningDomain {
        SigningDomain {
            chain_id: self.net.chain_id(),
            registry: self.net.registry(),
        }
    }

    fn sign(
        &self,
        key: &PrivateKeySigner,
        statement: &RecordStatement,
        domain: &SigningDomain,
    ) -> Vec<u8> {
        key.sign_hash_sync(&statement.signing_hash(domain))
            .unwrap()
            .as_bytes()
            .to_vec()
    }

    fn signed(&self) -> Vec<u8> {
        self.sign(&self.author, &self.statement, &self.domain())
    }

    fn relay(&mut self, from: Address, statement: &RecordStatement, signature: Vec<u8>) -> Receipt {
        let call = signed_anchor(statement, signature);
        self.net.send(from, &call).unwrap()
    }
}

fn bad_signature(author: Address) -> E {
    E::EhrRegistryBadSignature(EhrRegistry::EhrRegistryBadSignature { author })
}

#[test]
fn the_registry_s_domain_is_the_one_ehrchain_signs_for() {
    let mut s = setup();
    let separator = s.net.view(&EhrRegistry::domainSeparatorCall {}).unwrap();
    assert_eq!(separator, s.domain().eip712().separator());
    let type_hash = s
        .net
        .view(&EhrRegistry::RECORD_STATEMENT_TYPEHASHCall {})
        .unwrap();
    assert_eq!(
        type_hash,
        alloy_primitives::keccak256(
            <RecordStatement as alloy_sol_types::SolStruct>::eip712_encode_type().as_bytes()
        )
    );
}

#[test]
fn a_relayer_anchors_what_the_author_signed_and_the_event_names_the_author() {
    let mut s = setup();
    let (relayer, statement, signature) = (s.relayer, s.statement.clone(), s.signed());
    let receipt = s.relay(relayer, &statement, signature);
    assert!(receipt.status(), "{:?}", receipt.failure);
    assert_eq!(
        receipt.events::<EhrRegistry::RecordAnchored>(),
        [EhrRegistry::RecordAnchored {
            tiId: statement.tiId,
            templateId: statement.templateId,
            subject: statement.subject,
            recordHash: statement.recordHash,
            role: statement.role,
            author: s.author.address(),
            timestamp: statement.timestamp,
        }]
    );
    let stored = s
        .net
        .view(&EhrRegistry::recordHashOfCall {
            tiId: statement.tiId,
        })
        .unwrap();
    assert_eq!(stored, statement.recordHash);

    // The same statement again is a used TI id, whoever relays it.
    let receipt = s.relay(relayer, &statement, s.signed());
    assert_eq!(
        registry_error(&receipt),
        &E::EhrRegistryTiAlreadyUsed(EhrRegistry::EhrRegistryTiAlreadyUsed {
            tiId: statement.tiId,
            storedRecordHash: statement.recordHash,
        })
    );
}

#[test]
fn only_relayers_relay_and_only_authors_holding_the_role_are_anchored() {
    let mut s = setup();
    let (statement, signature) = (s.statement.clone(), s.signed());
    // The author is not a relayer: sending their own statement needs the role.
    let author = s.author.address();
    let receipt = s.relay(Devnet::doctor(), &statement, signature.clone());
    assert_eq!(
        registry_error(&receipt),
        &E::AccessControlUnauthorizedAccount(EhrRegistry::AccessControlUnauthorizedAccount {
            account: Devnet::doctor(),
            neededRole: role("relayer"),
        })
    );
    // An author who lost the role: the registry names the author, not the relayer.
    let revoke = EhrRegistry::revokeRoleCall {
        role: role("doctor"),
        account: author,
    };
    assert!(s.net.send(Devnet::admin(), &revoke).unwrap().status());
    let relayer = s.relayer;
    let receipt = s.relay(relayer, &statement, signature);
    assert_eq!(
        registry_error(&receipt),
        &E::AccessControlUnauthorizedAccount(EhrRegistry::AccessControlUnauthorizedAccount {
            account: author,
            neededRole: role("doctor"),
        })
    );
}

#[test]
fn signatures_of_another_key_chain_registry_or_form_are_refused() {
    let mut s = setup();
    let statement = s.statement.clone();
    let author = statement.author;
    let stranger = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x22)).unwrap();
    let other_chain = SigningDomain {
        chain_id: 1,
        ..s.domain()
    };
    let other_registry = SigningDomain {
        registry: Address::repeat_byte(0x43),
        ..s.domain()
    };
    let good = s.signed();
    let mut high_s = good.clone();
    let low = U256::from_be_slice(&good[32..64]);
    high_s[32..64].copy_from_slice(&(ORDER - low).to_be_bytes::<32>());
    high_s[64] = if good[64] == 27 { 28 } else { 27 };
    let mut v_zero = good.clone();
    v_zero[64] -= 27;
    let cases = [
        ("another key", s.sign(&stranger, &statement, &s.domain())),
        ("another chain", s.sign(&s.author, &statement, &other_chain)),
        (
            "another registry",
            s.sign(&s.author, &statement, &other_registry),
        ),
        ("high s", high_s),
        ("v as 0 or 1", v_zero),
        ("truncated", good[..64].to_vec()),
        ("empty", Vec::new()),
    ];
    let relayer = s.relayer;
    for (name, signature) in cases {
        let receipt = s.relay(relayer, &statement, signature);
        assert_eq!(registry_error(&receipt), &bad_signature(author), "{name}");
    }
    // A statement that differs from what was signed (another record hash).
    let altered = RecordStatement {
        recordHash: h(9),
        ..statement.clone()
    };
    let receipt = s.relay(relayer, &altered, good.clone());
    assert_eq!(registry_error(&receipt), &bad_signature(author));
    // Nothing was stored by the refusals; the good one still anchors.
    let receipt = s.relay(relayer, &statement, good);
    assert!(receipt.status(), "{:?}", receipt.failure);
}

#[test]
fn the_template_rules_hold_for_signed_records_too() {
    let mut s = setup();
    let relayer = s.relayer;
    // The blood-pressure template allows doctors and nurses, not pathologists.
    let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x33)).unwrap();
    s.net.grant_role("pathologist", key.address()).unwrap();
    let statement = RecordStatement {
        role: role("pathologist"),
        author: key.address(),
        ..s.statement.clone()
    };
    let signature = s.sign(&key, &statement, &s.domain());
    let receipt = s.relay(relayer, &statement, signature);
    assert_eq!(
        registry_error(&receipt),
        &E::EhrRegistryRoleNotAllowed(EhrRegistry::EhrRegistryRoleNotAllowed {
            templateId: statement.templateId,
            role: role("pathologist"),
        })
    );
    let zero = RecordStatement {
        recordHash: B256::ZERO,
        ..s.statement.clone()
    };
    let signature = s.sign(&s.author, &zero, &s.domain());
    let receipt = s.relay(relayer, &zero, signature);
    assert_eq!(
        registry_error(&receipt),
        &E::EhrRegistryZeroHash(EhrRegistry::EhrRegistryZeroHash {})
    );
}

#[test]
fn a_smart_account_author_is_checked_with_erc1271() {
    let mut s = setup();
    let owner = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x44)).unwrap();
    let account = deploy_smart_account(&mut s.net, owner.address());
    s.net.grant_role("doctor", account).unwrap();
    let statement = RecordStatement {
        author: account,
        ..s.statement.clone()
    };
    let relayer = s.relayer;

    // A key that is not the account's owner: the account says no.
    let wrong = s.sign(&s.author, &statement, &s.domain());
    let receipt = s.relay(relayer, &statement, wrong);
    assert_eq!(registry_error(&receipt), &bad_signature(account));

    let signature = s.sign(&owner, &statement, &s.domain());
    let receipt = s.relay(relayer, &statement, signature);
    assert!(receipt.status(), "{:?}", receipt.failure);
    let anchored = receipt.events::<EhrRegistry::RecordAnchored>();
    assert_eq!(anchored.len(), 1);
    assert_eq!(
        anchored[0].author, account,
        "the event names the smart account"
    );
}
