// The consent statements of a_fixed_statement_s_encodings_as_the_bindings_pin_them
// (ehrchain-core/src/consent_abi/tests.rs) and the values pinned there: the
// tests that check the package's encodings against the core's share them
// (change both or neither).

/** The consent contract's domain the statements are signed for. */
export const fixed = { chainId: 1337, consent: `0x${"43".repeat(20)}` };
/** The patient of both statements. */
export const patient01 = `0x${"01".repeat(20)}`;
/** The grant. */
export const fixedGrant = {
  subject: `0x${"07".repeat(32)}`, patient: patient01, recipient: `0x${"02".repeat(20)}`,
  templateIds: [`0x${"03".repeat(32)}`], expiresAt: 1767312000, nonce: 1, deadline: 1767229200,
};
/** The grant's id (its EIP-712 digest). */
export const fixedGrantId = "0x2574be0bee562adcc401bed0c4568997655e9d71b98afcd71689dceeb61beb2e";
/** The revocation of the grant. */
export const fixedRevocation = { grantId: fixedGrantId, patient: patient01, deadline: 1767229200 };
/** The revocation's EIP-712 digest. */
export const fixedRevocationDigest = "0x2bba36f9548e1896cd8067d005c0ce7ed22b947d5a5cfd5e82d38968453ed8a1";
