// The peer of benches/benches/authorship.rs: viem's recoverTypedDataAddress
// (a verifier recovering each signed statement's author) and signTypedData
// (a local key signing) on the statements of docs/vectors/signed_proofs.json,
// on one core. Checks that viem recovers each author and signs the same
// bytes before anything is timed.
//
//   node benches/peers/authorship.mjs [seconds per measurement, default 3] [out.json]
//
// With an output path (`make bench`: target/bench/authorship_peers.json) it
// also writes {verify, sign} per second there for the report.
import { readFileSync, writeFileSync } from "node:fs";
import { recoverTypedDataAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { rate as timed } from "./rate.mjs";

const file = JSON.parse(readFileSync(new URL("../../docs/vectors/signed_proofs.json", import.meta.url), "utf8"));
const seconds = Number(process.argv[2] || 3);

const types = {
  RecordStatement: [
    { name: "tiId", type: "bytes32" }, { name: "templateId", type: "bytes32" }, { name: "recordHash", type: "bytes32" },
    { name: "subject", type: "bytes32" }, { name: "role", type: "bytes32" }, { name: "author", type: "address" },
    { name: "timestamp", type: "uint64" },
  ],
};
const signed = file.valid.map((v) => {
  const { domain, statement, signature } = v.json;
  return {
    typed: {
      domain: { name: "ehrchain", version: "1", chainId: domain.chainId, verifyingContract: domain.registry },
      types,
      primaryType: "RecordStatement",
      message: { ...statement, timestamp: BigInt(statement.timestamp) },
    },
    signature,
    author: statement.author.toLowerCase(),
  };
});
// The role cache a verifier keeps: (role, author) -> held.
const roles = new Set(file.roles.terms.map((t) => `${t.role}:${t.account.toLowerCase()}`));
const keys = file.privateKeys.map((k) => privateKeyToAccount(k));

// Checked byte for byte first: viem recovers our signatures' authors, and
// the author's key signs the same bytes ehrchain signed (RFC 6979).
for (const s of signed) {
  const author = (await recoverTypedDataAddress({ ...s.typed, signature: s.signature })).toLowerCase();
  if (author !== s.author) throw new Error(`viem recovered ${author}, not ${s.author}`);
  const key = keys.find((k) => k.address.toLowerCase() === s.author);
  if ((await key.signTypedData(s.typed)) !== s.signature) throw new Error("viem signed other bytes");
}

const rate = (name, op) => timed(name, op, seconds);

const verify = await rate("viem recoverTypedDataAddress + role lookup", async (i) => {
  const s = signed[i % signed.length];
  const author = (await recoverTypedDataAddress({ ...s.typed, signature: s.signature })).toLowerCase();
  if (!roles.has(`${s.typed.message.role}:${author}`)) throw new Error("role");
});
const sign = await rate("viem signTypedData (local key)", async (i) => {
  await keys[0].signTypedData(signed[i % signed.length].typed);
});
if (process.argv[3]) writeFileSync(process.argv[3], `${JSON.stringify({ verify, sign })}\n`);
