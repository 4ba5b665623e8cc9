//! The consent contract on a devnet, for the consent tests and the gas
//! report: a custodian hospital, a patient (with a key of their own) bound to
//! a pseudonym, and a second hospital as recipient.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use alloy_primitives::{Address, B256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{Eip712Domain, SolCall, SolStruct, eip712_domain};
use ehrchain_contracts::EhrConsent::{self, ConsentGrant, Disclosure};
use ehrchain_contracts::{Devnet, Receipt};

use super::h;

/// The test number of a template id the grants name (`h(BLOOD_PRESSURE)`;
/// consent does not read templates).
pub const BLOOD_PRESSURE: u64 = 100;
/// Another template's test number.
pub const LAB_RESULT: u64 = 101;

/// A devnet with `EhrConsent` deployed, a custodian hospital, a patient (with a
/// key of their own) bound to a pseudonym, and a second hospital as recipient.
pub struct Setup {
    pub net: Devnet,
    pub consent: Address,
    pub hospital: Address,
    pub patient: PrivateKeySigner,
    pub subject: B256,
    pub recipient: Address,
    pub relayer: Address,
}

/// The devnet of [`Setup`], the patient bound by the hospital.
pub fn setup() -> Setup {
    let mut net = Devnet::new().unwrap();
    let consent = net.deploy_consent().unwrap();
    let hospital = Devnet::account("hospital");
    net.grant_role("custodian", hospital).unwrap();
    let patient = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x21)).unwrap();
    let mut s = Setup {
        net,
        consent,
        hospital,
        patient,
        subject: h(7),
        recipient: Devnet::account("clinic-b"),
        relayer: Devnet::account("gateway"),
    };
    let bind = EhrConsent::bindPatientCall {
        subject: s.subject,
        account: s.patient.address(),
    };
    assert!(s.send(s.hospital, &bind).status());
    s
}

impl Setup {
    /// Sends a typed call to the consent contract.
    pub fn send<C: SolCall>(&mut self, from: Address, call: &C) -> Receipt {
        self.net
            .execute(from, self.consent, call.abi_encode().into())
            .unwrap()
    }

    /// Calls a consent view (`eth_call`) and decodes its return.
    pub fn view<C: SolCall>(&mut self, call: &C) -> C::Return {
        let receipt = self
            .net
            .call(Address::ZERO, self.consent, call.abi_encode().into())
            .unwrap();
        assert!(receipt.status(), "{:?}", receipt.failure);
        C::abi_decode_returns(&receipt.output).unwrap()
    }

    /// The consent contract's EIP-712 domain.
    pub fn domain(&self) -> Eip712Domain {
        eip712_domain! {
            name: "ehrchain consent",
            version: "1",
            chain_id: self.net.chain_id(),
            verifying_contract: self.consent,
        }
    }

    /// A grant of `templates` (empty: all) for a day, relayable for an hour.
    pub fn grant(&self, templates: &[u64], nonce: u64) -> ConsentGrant {
        let now = self.net.block_timestamp();
        ConsentGrant {
            subject: self.subject,
            patient: self.patient.address(),
            recipient: self.recipient,
            templateIds: templates.iter().map(|t| h(*t)).collect(),
            expiresAt: now + 86_400,
            nonce,
            deadline: now + 3_600,
        }
    }

    /// `key`'s EIP-712 signature of `statement` under [`Setup::domain`].
    pub fn sign<S: SolStruct>(&self, key: &PrivateKeySigner, statement: &S) -> Vec<u8> {
        key.sign_hash_sync(&statement.eip712_signing_hash(&self.domain()))
            .unwrap()
            .as_bytes()
            .to_vec()
    }

    /// The relayer sends `grant` with `signature`.
    pub fn relay_grant(&mut self, grant: &ConsentGrant, signature: Vec<u8>) -> Receipt {
        let call = EhrConsent::grantSignedCall {
            grant: grant.clone(),
            signature: signature.into(),
        };
        self.send(self.relayer, &call)
    }

    /// The patient signs `grant` and a relayer sends it; returns its id.
    pub fn granted(&mut self, grant: &ConsentGrant) -> B256 {
        let signature = self.sign(&self.patient, grant);
        let receipt = self.relay_grant(grant, signature);
        assert!(receipt.status(), "{:?}", receipt.consent_error());
        receipt.events::<EhrConsent::ConsentGranted>()[0].grantId
    }

    /// `mayReceive` of the recipient, the pseudonym and a template.
    pub fn may_receive(&mut self, template: u64) -> (bool, B256) {
        let r = self.view(&EhrConsent::mayReceiveCall {
            recipient: self.recipient,
            subject: self.subject,
            templateId: h(template),
        });
        (r.allowed, r.grantId)
    }

    /// The `n`th test disclosure of a record of `template` to the recipient.
    pub fn disclosure(&self, template: u64, n: u64) -> Disclosure {
        Disclosure {
            capsuleDigest: h(1_000 + n),
            recipient: self.recipient,
            subject: self.subject,
            templateId: h(template),
            recordHash: h(2_000 + n),
        }
    }

    /// The hospital records one disclosure.
    pub fn disclose(&mut self, disclosure: Disclosure) -> Receipt {
        let call = EhrConsent::recordDisclosureCall { disclosure };
        self.send(self.hospital, &call)
    }
}
