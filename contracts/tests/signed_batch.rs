//! Signed batches on chain (issue 16): a relayer anchors the root of many
//! authors' signed statements with `anchorSignedBatch`; `verifySignedRecord`
//! then proves, for any record, that it is in the batch, that its author
//! signed it (ECDSA or ERC-1271), and that the author held the role for the
//! template when the batch was anchored. The same proofs check offline with
//! ehrchain-core against the registry's role history (`roleTermsOf`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use alloy_primitives::{Address, B256, Bytes};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use common::{
    contract_statement, deploy_smart_account, devnet_with_built_ins, h, registry_error, role,
    template,
};
use ehrchain_contracts::EhrRegistry::{self, EhrRegistryErrors as E};
use ehrchain_contracts::{Devnet, Receipt};
use ehrchain_core::authorship::{
    DomainSeparator, ISignedBatches, RecordSignature, RecordStatement, RoleHistory, RoleTerm,
    SignedBatch, SignedBatchAnchor, SignedBatchBuilder, SignedProofError, SignedRecordProof,
    SigningDomain,
};
use ehrchain_core::{AnchoredBatch, ErrorCode, UnixMillis};

/// When the batch is anchored (block time, seconds).
const ANCHOR_TIME: u64 = 1_767_225_600;

struct Setup {
    net: Devnet,
    templates: ehrchain_core::TemplateRegistry,
    authors: Vec<PrivateKeySigner>,
    relayer: Address,
}

fn key(n: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(n)).unwrap()
}

/// A devnet where three doctors with keys of their own may write blood
/// pressures, and a gateway account relays.
fn setup() -> Setup {
    let (mut net, templates) = devnet_with_built_ins();
    let authors: Vec<_> = (0x21..=0x23).map(key).collect();
    for author in &authors {
        net.grant_role("doctor", author.address()).unwrap();
    }
    let relayer = Devnet::account("gateway");
    net.grant_role("relayer", relayer).unwrap();
    Setup {
        net,
        templates,
        authors,
        relayer,
    }
}

impl Setup {
    fn domain(&self) -> SigningDomain {
        SigningDomain {
            chain_id: self.net.chain_id(),
            registry: self.net.registry(),
        }
    }

    fn statement(&self, n: u64, author: Address) -> RecordStatement {
        RecordStatement {
            tiId: h(1_000 + n),
            templateId: template(&self.templates, "blood-pressure").id(),
            recordHash: h(2_000 + n),
            subject: h(3),
            role: role("doctor"),
            author,
            timestamp: ANCHOR_TIME - 60,
        }
    }

    fn sign(&self, key: &PrivateKeySigner, statement: &RecordStatement) -> RecordSignature {
        let digest = DomainSeparator::new(self.domain()).signing_hash(statement);
        RecordSignature::from_slice(&key.sign_hash_sync(&digest).unwrap().as_bytes()).unwrap()
    }

    /// `n` records by the authors in turn, each signed by its author.
    fn batch(&self, n: u64, batch_id: B256) -> SignedBatch {
        let mut builder = SignedBatchBuilder::new(self.domain());
        for (i, author) in (0..n).zip(self.authors.iter().cycle()) {
            let statement = self.statement(i + u64::from(batch_id[31]) * 1_000, author.address());
            let signature = self.sign(author, &statement);
            builder.push(statement, signature).unwrap();
        }
        builder.build(batch_id).unwrap()
    }

    /// Anchors `batch` at `ANCHOR_TIME` (or later) from `from`.
    fn anchor(&mut self, from: Address, batch: &SignedBatch) -> Receipt {
        if self.net.block_timestamp() < ANCHOR_TIME {
            self.net.set_time(ANCHOR_TIME).unwrap();
        }
        let tx = batch.anchor_transaction();
        assert_eq!(
            (tx.to, tx.chain_id),
            (self.net.registry(), self.net.chain_id())
        );
        let receipt = self.net.execute(from, tx.to, tx.calldata).unwrap();
        self.net.mine();
        receipt
    }

    /// `verifySignedRecord` of `proof` as an `eth_call`.
    fn verify(&mut self, proof: &SignedRecordProof) -> Receipt {
        let call = EhrRegistry::verifySignedRecordCall {
            statement: contract_statement(&proof.statement),
            signature: Bytes::copy_from_slice(proof.signature.as_bytes()),
            root: proof.root,
            proof: proof.siblings.clone(),
        };
        self.net
            .call(
                Devnet::account("auditor"),
                self.net.registry(),
                call.abi_encode().into(),
            )
            .unwrap()
    }

    /// What an offline verifier reads from the chain: the batch, and the
    /// template's roles and the authors' role terms.
    fn read(&mut self, root: B256, accounts: &[Address]) -> (SignedBatchAnchor, RoleHistory) {
        let batch = self.net.view(&EhrRegistry::batchOfCall { root }).unwrap();
        let anchor = SignedBatchAnchor {
            domain: self.domain(),
            batch: AnchoredBatch {
                root,
                leaf_count: batch.leafCount,
                batch_id: None,
            },
            anchored_at: UnixMillis::from_secs(batch.anchoredAt),
        };
        let mut roles = RoleHistory::new();
        let template = template(&self.templates, "blood-pressure");
        for r in template.roles() {
            roles.allow(template.id(), r.id());
        }
        for account in accounts {
            let terms = self
                .net
                .view(&EhrRegistry::roleTermsOfCall {
                    role: role("doctor"),
                    account: *account,
                })
                .unwrap();
            let terms = terms
                .iter()
                .map(|t| RoleTerm {
                    granted_at: UnixMillis::from_secs(t.grantedAt),
                    revoked_at: (t.revokedAt != 0).then(|| UnixMillis::from_secs(t.revokedAt)),
                })
                .collect();
            roles.set_terms(role("doctor"), *account, terms);
        }
        (anchor, roles)
    }
}

fn anchored_at(receipt: &Receipt) -> u64 {
    assert!(receipt.status(), "{:?}", receipt.failure);
    EhrRegistry::verifySignedRecordCall::abi_decode_returns(&receipt.output).unwrap()
}

#[test]
fn the_core_calls_anchor_signed_batch_of_the_compiled_abi() {
    assert_eq!(
        ISignedBatches::anchorSignedBatchCall::SELECTOR,
        EhrRegistry::anchorSignedBatchCall::SELECTOR
    );
}

#[test]
fn every_record_of_an_anchored_signed_batch_proves_its_author_on_chain_and_offline() {
    let mut s = setup();
    let batch = s.batch(9, h(77));
    let receipt = s.anchor(s.relayer, &batch);
    assert!(receipt.status(), "{:?}", receipt.failure);
    assert_eq!(
        receipt.events::<EhrRegistry::SignedBatchAnchored>(),
        [EhrRegistry::SignedBatchAnchored {
            root: batch.root(),
            batchId: h(77),
            leafCount: 9,
        }]
    );
    let accounts: Vec<_> = s.authors.iter().map(PrivateKeySigner::address).collect();
    let (anchor, roles) = s.read(batch.root(), &accounts);
    assert_eq!(anchor.anchored_at, UnixMillis::from_secs(ANCHOR_TIME));
    for index in 0..9 {
        let proof = batch.proof(index).unwrap();
        assert_eq!(anchored_at(&s.verify(&proof)), ANCHOR_TIME);
        proof.verify_anchored(&anchor, &roles).unwrap();
    }
    // A revocation after the batch changes nothing: the author held the role then.
    s.net
        .send(
            Devnet::admin(),
            &EhrRegistry::revokeRoleCall {
                role: role("doctor"),
                account: accounts[0],
            },
        )
        .unwrap();
    let proof = batch.proof(0).unwrap();
    assert_eq!(anchored_at(&s.verify(&proof)), ANCHOR_TIME);
    let (anchor, roles) = s.read(batch.root(), &accounts);
    proof.verify_anchored(&anchor, &roles).unwrap();
}

#[test]
fn only_a_relayer_anchors_a_signed_batch_at_the_cost_of_a_plain_one() {
    let mut s = setup();
    let batch = s.batch(3, h(78));
    let receipt = s.anchor(Devnet::handshaker(), &batch);
    assert!(matches!(
        registry_error(&receipt),
        E::AccessControlUnauthorizedAccount(_)
    ));
    let signed = s.anchor(s.relayer, &batch);
    assert!(signed.status());
    let plain = s
        .net
        .send(
            Devnet::handshaker(),
            &EhrRegistry::anchorBatchCall {
                root: h(79),
                leafCount: 3,
                batchId: h(80),
            },
        )
        .unwrap();
    assert!(plain.status());
    // Both under anchorBatch's 50,000 (GAS.md compares them with equal calldata).
    assert!(signed.gas_used <= 50_000 && plain.gas_used <= 50_000);
    // The same root twice is refused, as for a plain batch.
    assert!(matches!(
        registry_error(&s.anchor(s.relayer, &batch)),
        E::EhrRegistryRootAlreadyAnchored(_)
    ));
}

#[test]
fn forged_statements_other_signers_and_other_batches_are_refused() {
    let mut s = setup();
    let (a, b) = (s.batch(4, h(81)), s.batch(4, h(82)));
    s.anchor(s.relayer, &a);
    s.anchor(s.relayer, &b);

    // A forged statement: another record hash, even re-signed by its author.
    let mut forged = a.proof(1).unwrap();
    forged.statement.recordHash = h(99);
    forged.signature = s.sign(&s.authors[1], &forged.statement);
    let digest = forged.digest();
    assert_eq!(
        registry_error(&s.verify(&forged)),
        &E::EhrRegistryNotInBatch(EhrRegistry::EhrRegistryNotInBatch {
            root: a.root(),
            digest
        })
    );

    // A leaf of batch b presented with batch a's root.
    let mut moved = b.proof(2).unwrap();
    moved.root = a.root();
    assert!(matches!(
        registry_error(&s.verify(&moved)),
        E::EhrRegistryNotInBatch(_)
    ));

    // A root never anchored.
    let mut unanchored = a.proof(0).unwrap();
    unanchored.root = h(5);
    assert!(matches!(
        registry_error(&s.verify(&unanchored)),
        E::EhrRegistryRootNotAnchored(_)
    ));

    // The statement of author 0 carrying author 1's signature of it.
    let mut other = a.proof(0).unwrap();
    other.signature = s.sign(&s.authors[1], &other.statement);
    assert_eq!(
        registry_error(&s.verify(&other)),
        &E::EhrRegistryBadSignature(EhrRegistry::EhrRegistryBadSignature {
            author: s.authors[0].address()
        })
    );
}

#[test]
fn an_author_without_the_role_when_anchored_is_refused() {
    let mut s = setup();
    let stranger = key(0x31);
    let late = key(0x32);
    let template_id = template(&s.templates, "blood-pressure").id();
    let mut builder = SignedBatchBuilder::new(s.domain());
    for (n, k) in [(0, &stranger), (1, &late)] {
        let statement = s.statement(n, k.address());
        let signature = s.sign(k, &statement);
        builder.push(statement, signature).unwrap();
    }
    // A role the template does not allow (a device writing blood pressure).
    let device = key(0x33);
    s.net.grant_role("device", device.address()).unwrap();
    let statement = RecordStatement {
        role: role("device"),
        ..s.statement(2, device.address())
    };
    let signature = s.sign(&device, &statement);
    builder.push(statement, signature).unwrap();
    let batch = builder.build(h(83)).unwrap();
    s.anchor(s.relayer, &batch);
    // `late` becomes a doctor only after the batch.
    s.net.grant_role("doctor", late.address()).unwrap();

    let accounts = [stranger.address(), late.address()];
    let (anchor, roles) = s.read(batch.root(), &accounts);
    for (index, author) in (0..).zip(&accounts) {
        let proof = batch.proof(index).unwrap();
        assert_eq!(
            registry_error(&s.verify(&proof)),
            &E::EhrRegistryRoleNotHeld(EhrRegistry::EhrRegistryRoleNotHeld {
                author: *author,
                role: role("doctor"),
                time: ANCHOR_TIME,
            })
        );
        let offline = proof.verify_anchored(&anchor, &roles).unwrap_err();
        assert_eq!(
            offline,
            SignedProofError::RoleNotHeld {
                author: *author,
                role: role("doctor"),
                at: UnixMillis::from_secs(ANCHOR_TIME),
            }
        );
    }
    let proof = batch.proof(2).unwrap();
    assert_eq!(
        registry_error(&s.verify(&proof)),
        &E::EhrRegistryRoleNotAllowed(EhrRegistry::EhrRegistryRoleNotAllowed {
            templateId: template_id,
            role: role("device"),
        })
    );
    assert_eq!(
        proof.verify_anchored(&anchor, &roles).unwrap_err().code(),
        ErrorCode::AuthorRoleNotAllowed
    );
}

#[test]
fn a_smart_account_author_in_a_batch_is_checked_with_erc1271() {
    let mut s = setup();
    let owner = key(0x44);
    let account = deploy_smart_account(&mut s.net, owner.address());
    s.net.grant_role("doctor", account).unwrap();
    let statement = s.statement(0, account);
    // A second record of the account's, signed by a key that is not its
    // owner's.
    let forged = s.statement(1, account);
    let mut builder = SignedBatchBuilder::new(s.domain());
    builder
        .push(statement.clone(), s.sign(&owner, &statement))
        .unwrap();
    builder
        .push(forged.clone(), s.sign(&s.authors[0], &forged))
        .unwrap();
    let batch = builder.build(h(84)).unwrap();
    s.anchor(s.relayer, &batch);
    assert_eq!(
        anchored_at(&s.verify(&batch.proof(0).unwrap())),
        ANCHOR_TIME
    );
    assert!(matches!(
        registry_error(&s.verify(&batch.proof(1).unwrap())),
        E::EhrRegistryBadSignature(_)
    ));
    // Offline, only an externally owned author's signature can be checked.
    assert_eq!(
        batch.proof(0).unwrap().verify().unwrap_err().code(),
        ErrorCode::SignatureWrongSigner
    );
}

/// The 65,536-record batch of issue 16's "done when", anchored: a few
/// records verified on chain (each at depth 16), the QR text form printed.
#[test]
fn a_65536_record_signed_batch_verifies_on_chain() {
    let mut s = setup();
    let batch = s.batch(1 << 16, h(85));
    s.anchor(s.relayer, &batch);
    let accounts: Vec<_> = s.authors.iter().map(PrivateKeySigner::address).collect();
    let (anchor, roles) = s.read(batch.root(), &accounts);
    for index in [0, 12_345, 65_535] {
        let proof = batch.proof(index).unwrap();
        assert_eq!(proof.siblings.len(), 16);
        let text = proof.to_text();
        assert_eq!(text.len(), 1_312);
        let scanned = SignedRecordProof::from_text(&text).unwrap();
        assert_eq!(anchored_at(&s.verify(&scanned)), ANCHOR_TIME);
        scanned.verify_anchored(&anchor, &roles).unwrap();
    }
}
