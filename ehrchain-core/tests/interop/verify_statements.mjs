#!/usr/bin/env node
// Interop check of ehrchain's signed record statements (docs/authorship.md)
// against viem and ethers, the libraries a portal signs and verifies with.
// For every valid vector of docs/vectors/authorship.json:
//   - viem's hashTypedData and ethers' TypedDataEncoder give the vector's
//     digest, domain separator and struct hash from its typed-data document;
//   - viem's recoverTypedDataAddress / verifyTypedData and ethers'
//     verifyTypedData accept ehrchain's signature and name the vector's signer;
//   - viem's and ethers' own signatures with the vector's test key are
//     ehrchain's byte for byte (RFC 6979 nonces and low s on both sides), so
//     ehrchain's verifier accepts theirs;
//   - the typed data lists exactly the members of the vector's type string.
// For the invalid vectors that are well-formed signatures (replays on another
// chain or registry, another key), viem recovers an address other than the
// statement's author, as ehrchain does.
//
//   npm ci --prefix ehrchain-core/tests/interop
//   node ehrchain-core/tests/interop/verify_statements.mjs [path/to/authorship.json]
//
// One line per vector, then "N passed, M failed"; exits non-zero on a failure.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { hashTypedData, hashDomain, hashStruct, recoverTypedDataAddress, verifyTypedData } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { TypedDataEncoder, Wallet, verifyTypedData as ethersVerifyTypedData } from 'ethers';

const defaultPath = fileURLToPath(new URL('../../../docs/vectors/authorship.json', import.meta.url));
const file = JSON.parse(readFileSync(process.argv[2] ?? defaultPath, 'utf8'));

let passed = 0;
let failed = 0;

async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}: ${error.message}`);
  }
}

/** The typed data with the wallet's own types, as ethers wants it (no EIP712Domain). */
function ethersTypes(typedData) {
  const { EIP712Domain: _, ...types } = typedData.types;
  return types;
}

for (const v of file.valid) {
  await check(v.name, async () => {
    const td = v.typedData;
    const members = td.types.RecordStatement.map((m) => `${m.type} ${m.name}`).join(',');
    assert.equal(`RecordStatement(${members})`, file.typeString);
    assert.deepEqual(td.message, v.statement);

    assert.equal(hashTypedData(td), v.signingHash);
    assert.equal(hashDomain({ domain: td.domain, types: td.types }), v.domainSeparator);
    assert.equal(hashStruct({ data: td.message, primaryType: td.primaryType, types: td.types }), v.structHash);
    assert.equal(TypedDataEncoder.hash(td.domain, ethersTypes(td), td.message), v.signingHash);

    const recovered = await recoverTypedDataAddress({ ...td, signature: v.signature });
    assert.equal(recovered.toLowerCase(), v.signer);
    assert.equal(await verifyTypedData({ ...td, address: v.signer, signature: v.signature }), true);
    assert.equal(ethersVerifyTypedData(td.domain, ethersTypes(td), td.message, v.signature).toLowerCase(), v.signer);

    const viemSignature = await privateKeyToAccount(v.privateKey).signTypedData(td);
    assert.equal(viemSignature, v.signature, 'viem signs the same bytes');
    const ethersSignature = await new Wallet(v.privateKey).signTypedData(td.domain, ethersTypes(td), td.message);
    assert.equal(ethersSignature, v.signature, 'ethers signs the same bytes');
  });
}

const typedDataOf = (domain, statement) => ({
  ...file.valid[0].typedData,
  domain: { ...file.valid[0].typedData.domain, chainId: domain.chainId, verifyingContract: domain.registry },
  message: statement,
});

for (const v of file.invalid.filter((i) => i.code === 'EHR_SIGNATURE_WRONG_SIGNER')) {
  await check(`invalid: ${v.name}`, async () => {
    const recovered = await recoverTypedDataAddress({ ...typedDataOf(v.domain, v.statement), signature: v.signature });
    assert.notEqual(recovered.toLowerCase(), v.statement.author);
  });
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
