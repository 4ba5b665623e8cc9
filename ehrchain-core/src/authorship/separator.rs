//! The EIP-712 domain separator of a [`SigningDomain`], computed once.

use alloy_primitives::{Address, B256, keccak256};
use alloy_sol_types::SolStruct;

use super::{AuthorshipError, RecordSignature, RecordStatement, SigningDomain};

/// A [`SigningDomain`] with its EIP-712 domain separator computed once, for
/// hashing and checking many statements of one chain and registry (a batch,
/// an auditor's bulk check): each digest then costs the statement's struct
/// hash and one more keccak256, not the domain's three.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainSeparator {
    domain: SigningDomain,
    separator: B256,
}

impl DomainSeparator {
    /// Computes the separator of `domain`.
    #[must_use]
    pub fn new(domain: SigningDomain) -> Self {
        Self {
            domain,
            separator: domain.eip712().separator(),
        }
    }

    /// The domain.
    #[must_use]
    pub const fn domain(&self) -> SigningDomain {
        self.domain
    }

    /// The domain separator (EIP-712 `hashStruct(domain)`).
    #[must_use]
    pub const fn separator(&self) -> B256 {
        self.separator
    }

    /// The digest the author of `statement` signs: the same value as
    /// [`RecordStatement::signing_hash`] under this domain.
    #[must_use]
    pub fn signing_hash(&self, statement: &RecordStatement) -> B256 {
        let mut buf = [0u8; 66];
        buf[..2].copy_from_slice(&[0x19, 0x01]);
        buf[2..34].copy_from_slice(self.separator.as_slice());
        buf[34..].copy_from_slice(statement.eip712_hash_struct().as_slice());
        keccak256(buf)
    }

    /// The account whose key made `signature` over `statement`.
    ///
    /// # Errors
    /// [`AuthorshipError::Unrecoverable`] when no key recovers.
    pub fn signer(
        &self,
        statement: &RecordStatement,
        signature: &RecordSignature,
    ) -> Result<Address, AuthorshipError> {
        signature.recover(&self.signing_hash(statement))
    }

    /// Checks that the statement's author (an externally owned account)
    /// signed it under this domain, as [`RecordStatement::verify`] does.
    ///
    /// # Errors
    /// [`AuthorshipError::Unrecoverable`] or [`AuthorshipError::WrongSigner`].
    pub fn verify(
        &self,
        statement: &RecordStatement,
        signature: &RecordSignature,
    ) -> Result<(), AuthorshipError> {
        let signer = self.signer(statement, signature)?;
        if signer == statement.author {
            Ok(())
        } else {
            Err(AuthorshipError::WrongSigner {
                author: statement.author,
                signer,
            })
        }
    }
}
