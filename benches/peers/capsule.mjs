// The peer of benches/benches/capsule.rs: @hpke/core (with the pure-JS
// @hpke/dhkem-x25519, @hpke/core's own WebCrypto X25519 and
// @hpke/hybridkem-x-wing) sealing and opening the record keys of the grant
// vectors of docs/vectors/capsule.json, with the same recipients' keys and
// the capsule header as HPKE's info, on one core; and the npm package
// (ehrchain-wasm/pkg, when built) doing the same through its API. Checks that
// @hpke opens each vector's capsule to its record key before anything is
// timed.
//
//   node benches/peers/capsule.mjs [seconds per measurement, default 3] [out.json]
//
// With an output path (`make bench`: target/bench/capsule_peers.json) it also
// writes {"<suite>": {"<implementation>": {seal, open}}} per second there.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256 as WebCryptoX25519, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { XWing } from "@hpke/hybridkem-x-wing";
import { rate as timed } from "./rate.mjs";

const file = JSON.parse(readFileSync(new URL("../../docs/vectors/capsule.json", import.meta.url), "utf8"));
const seconds = Number(process.argv[2] || 3);
const unhex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
const HEADER_LEN = 151;
const INFO_LABEL = new TextEncoder().encode("ehrchain/v1/capsule");
const ENC_LEN = { x_wing: 1120, x25519: 32 };

const kems = {
  x_wing: { "@hpke/hybridkem-x-wing": () => new XWing() },
  x25519: {
    "@hpke/dhkem-x25519": () => new DhkemX25519HkdfSha256(),
    "@hpke/core (WebCrypto X25519)": () => new WebCryptoX25519(),
  },
};

const rate = (name, op) => timed(name, op, seconds);

const wasmPackage = new URL("../../ehrchain-wasm/pkg/index.js", import.meta.url);
const ehr = existsSync(wasmPackage) ? await import(wasmPackage) : undefined;
if (!ehr) console.error("ehrchain-wasm/pkg is not built (bash scripts/wasm-pack.sh): no WASM rows");

const results = {};
for (const v of file.valid.filter((x) => x.name.endsWith("-grant"))) {
  const capsule = unhex(v.capsule);
  const info = new Uint8Array([...INFO_LABEL, ...capsule.subarray(0, HEADER_LEN)]);
  const enc = capsule.slice(HEADER_LEN, HEADER_LEN + ENC_LEN[v.suite]);
  const ct = capsule.slice(HEADER_LEN + ENC_LEN[v.suite]);
  const recordKey = unhex(v.recordKey);
  results[v.suite] = {};
  for (const [name, kem] of Object.entries(kems[v.suite])) {
    const suite = new CipherSuite({ kem: kem(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
    const recipientPublicKey = await suite.kem.deserializePublicKey(unhex(v.recipientPublicKey));
    const recipientKey = await suite.kem.importKey("raw", unhex(v.recipientPrivateKey), false);
    const opened = new Uint8Array(await suite.open({ recipientKey, enc, info }, ct));
    if (Buffer.compare(opened, recordKey) !== 0) throw new Error(`${name} opened ${v.name} to another key`);
    results[v.suite][name] = {
      seal: await rate(`${v.suite} seal, ${name}`, () => suite.seal({ recipientPublicKey, info }, recordKey)),
      open: await rate(`${v.suite} open, ${name}`, () => suite.open({ recipientKey, enc, info }, ct)),
    };
  }
  if (ehr) {
    // The package seals from an envelope and its master key (the record key
    // is derived and checked first, one HKDF): a record of its own, bound
    // as the vector's binding is but for its record hash.
    const master = new Uint8Array(32).fill(7);
    const envelope = ehr.sealEnvelope(
      { keyId: "ward-7/2026", patient: `0x${"01".repeat(32)}`, templateId: `0x${"02".repeat(32)}`, tiId: `0x${"03".repeat(32)}` },
      master, new TextEncoder().encode(v.plaintextUtf8),
    );
    const binding = { ...v.binding, recordHash: ehr.envelopeInfo(envelope).recordHash };
    const publicKey = unhex(v.recipientPublicKey);
    const privateKey = unhex(v.recipientPrivateKey);
    const parsed = ehr.KeyCapsule.parse(capsule);
    if (Buffer.compare(parsed.open(v.binding, privateKey), recordKey) !== 0) throw new Error("the package opened another key");
    parsed.free();
    results[v.suite]["ehrchain npm package (WASM)"] = {
      seal: await rate(`${v.suite} seal, ehrchain WASM (sealCapsule)`, () =>
        ehr.sealCapsule(envelope, master, binding, v.suite, publicKey)),
      open: await rate(`${v.suite} open, ehrchain WASM (KeyCapsule.parse + open)`, () => {
        const c = ehr.KeyCapsule.parse(capsule);
        c.open(v.binding, privateKey);
        c.free();
      }),
    };
  }
}
if (process.argv[3]) writeFileSync(process.argv[3], `${JSON.stringify(results)}\n`);
