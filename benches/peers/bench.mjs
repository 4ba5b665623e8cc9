// The peer half of `make bench` (benches/README.md): times the same workloads
// as ehrchain's criterion benches with the JavaScript libraries a portal
// would otherwise use, after checking that each peer produces ehrchain's
// exact bytes. Usage: node bench.mjs FIXTURE.json [--quick | --check] >
// peers.json (FIXTURE.json from `cargo run --release -p ehrchain-benches
// --example peer_fixture`). Prints one JSON document on stdout, progress on
// stderr. `--check` only checks that every peer reproduces ehrchain's bytes
// (TCs, the 1024-leaf root, the depth-20 proof) and times nothing: `make
// test` runs it as an interop test.

import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createHash, randomFillSync } from 'node:crypto';
import os from 'node:os';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { concat, keccak256, toHex } from 'viem';
import { nodePipeline, webPipeline } from './pipeline.mjs';

const [fixturePath, ...flags] = process.argv.slice(2);
if (!fixturePath) {
  console.error('usage: node bench.mjs FIXTURE.json [--quick | --check]');
  process.exit(2);
}
const checkOnly = flags.includes('--check');
const quick = flags.includes('--quick');
const fixture = JSON.parse(readFileSync(fixturePath, 'utf8'));
const seconds = quick ? 0.3 : 2;
const results = [];

function record(name, unit, perSecond, extra = {}) {
  if (checkOnly) return;
  results.push({ name, unit, per_second: perSecond, ...extra });
  console.error(`${name.padEnd(44)} ${perSecond.toFixed(1).padStart(14)} ${unit}/s`);
}

/// Runs `op` (sync or async) for about `seconds`; returns operations per second.
async function time(op, minIterations = 1) {
  if (checkOnly) return NaN;
  for (let i = 0; i < Math.min(minIterations, 3); i++) await op();
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (n < minIterations || elapsed < seconds) {
    await op();
    n += 1;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return n / elapsed;
}

function sameBytes(tc, expected, what) {
  const calldata = tc.calldata.toLowerCase();
  const envelope = toHex(tc.envelope);
  if (calldata !== expected.calldata || envelope !== expected.envelope) {
    throw new Error(`${what} does not reproduce ehrchain's TC for the ${expected.record_bytes}-byte record: it would not be the same work`);
  }
}

async function tcGeneration() {
  const templateId = fixture.tis[0].ti.templateId;
  const variants = [
    ['viem+node:crypto', nodePipeline(fixture, templateId, 'viem')],
    ['ethers+node:crypto', nodePipeline(fixture, templateId, 'ethers')],
    ['viem+webcrypto', await webPipeline(fixture, templateId, 'viem')],
  ];
  for (const [label, pipeline] of variants) {
    for (const expected of fixture.tis) {
      const nonce = Buffer.from(expected.nonce.slice(2), 'hex');
      sameBytes(await pipeline(expected.ti, fixture.now_ms, nonce), expected, label);
      const fresh = Buffer.alloc(12);
      const perSecond = await time(() => pipeline(expected.ti, fixture.now_ms, randomFillSync(fresh)));
      record(`tc_generation/${label}/${expected.record_bytes >> 10}KiB`, 'TIs', perSecond);
    }
  }
}

const wasmPackage = new URL('../../ehrchain-wasm/pkg/index.js', import.meta.url);

/// The npm package (WebAssembly), when built (scripts/wasm-pack.sh): the same
/// TIs through `Handshaker.generate` and `generateAsync`, and the depth-20 proof through
/// `verifyProof`. Its nonces come from crypto.getRandomValues, so the check
/// is that its record opens to ehrchain's native plaintext byte for byte and
/// its calldata differs from the fixture's only in the record hash word.
async function wasmWorkloads() {
  if (!existsSync(wasmPackage)) {
    console.error('ehrchain-wasm/pkg is not built (bash scripts/wasm-pack.sh): no WASM rows');
    return;
  }
  const ehr = await import(wasmPackage);
  const templates = new ehr.Templates();
  templates.add(JSON.stringify(fixture.template));
  const keys = { [fixture.sealing_key_id]: fixture.sealing_key, [fixture.pseudonym_key_id]: fixture.pseudonym_key };
  const hs = new ehr.Handshaker({
    chainId: fixture.chainId, registry: fixture.registry,
    sealingKeyId: fixture.sealing_key_id, pseudonymKeyId: fixture.pseudonym_key_id,
  }, keys, templates);
  // `generate` seals in WebAssembly; `generateAsync` hands AES-256-GCM and
  // SHA-256 to WebCrypto.
  const variants = [
    ['ehrchain-wasm', async (ti) => hs.generate(ti, fixture.now_ms)],
    ['ehrchain-wasm+webcrypto', (ti) => hs.generateAsync(ti, fixture.now_ms)],
  ];
  const recordWord = (calldata) => calldata.slice(0, 10 + 64 * 3) + calldata.slice(10 + 64 * 4);
  for (const [label, generate] of variants) {
    for (const expected of fixture.tis) {
      const tc = await generate(expected.ti);
      const ours = Buffer.from(ehr.openEnvelope(tc.envelope, fixture.sealing_key));
      const native = Buffer.from(ehr.openEnvelope(expected.envelope, fixture.sealing_key));
      const hashed = `0x${createHash('sha256').update(tc.envelope).digest('hex')}` === tc.recordHash;
      if (!ours.equals(native) || !hashed || recordWord(tc.calldata) !== recordWord(expected.calldata)) {
        throw new Error(`${label} does not reproduce ehrchain's TC for the ${expected.record_bytes}-byte record`);
      }
      tc.free();
      record(`tc_generation/${label}/${expected.record_bytes >> 10}KiB`, 'TIs',
        await time(async () => (await generate(expected.ti)).free()));
    }
  }
  const proof = JSON.stringify(fixture.proof);
  ehr.verifyProof(proof);
  const binary = ehr.InclusionProof.parse(proof).toBytes();
  record('proof_verify/ehrchain-wasm/depth20', 'proofs', await time(() => ehr.verifyProof(binary)));
  const wasm = readFileSync(new URL('../../ehrchain-wasm/pkg/ehrchain_wasm_bg.wasm', import.meta.url));
  results.push({ name: 'size/ehrchain-wasm', unit: 'bytes', bytes: wasm.length, gzip_bytes: gzipSync(wasm, { level: 9 }).length });
}

/// Record hash i of the benchmark batches (benches/src/lib.rs `batch_of`).
function recordHashes(n) {
  const out = new Array(n);
  const hash = Buffer.alloc(32, 0x5a);
  for (let i = 0; i < n; i++) {
    hash.writeUInt32BE(i, 0);
    out[i] = [toHex(hash)];
  }
  return out;
}

async function batchBuild() {
  // OpenZeppelin's tree is a complete binary tree; for a power-of-two count it
  // is the same tree as ehrchain's, so the roots must agree.
  const expected = fixture.check_batch;
  const check = StandardMerkleTree.of(recordHashes(expected.leaves), ['bytes32'], { sortLeaves: false });
  if (check.root !== expected.root) {
    throw new Error(`@openzeppelin/merkle-tree does not reproduce ehrchain's ${expected.leaves}-leaf root`);
  }
  for (const { leaves } of fixture.batches) {
    if (checkOnly || (quick && leaves > 100_000)) continue;
    const values = recordHashes(leaves);
    const started = process.hrtime.bigint();
    const perSecond = await time(() => StandardMerkleTree.of(values, ['bytes32'], { sortLeaves: false }));
    const secondsPerBatch = 1 / perSecond;
    record(`batch_build/openzeppelin-merkle-tree/${leaves}`, 'records', perSecond * leaves, {
      seconds_per_batch: secondsPerBatch,
      wall_seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
  }
}

async function proofVerify() {
  const { proof } = fixture;
  const siblings = proof.siblings;
  if (!StandardMerkleTree.verify(proof.root, ['bytes32'], [proof.recordHash], siblings)) {
    throw new Error('@openzeppelin/merkle-tree refuses ehrchain\'s depth-20 proof');
  }
  record('proof_verify/openzeppelin-merkle-tree/depth20', 'proofs',
    await time(() => StandardMerkleTree.verify(proof.root, ['bytes32'], [proof.recordHash], siblings)));
  const viemVerify = () => {
    let node = keccak256(keccak256(proof.recordHash));
    for (const sibling of siblings) {
      node = keccak256(node < sibling ? concat([node, sibling]) : concat([sibling, node]));
    }
    return node === proof.root;
  };
  if (!viemVerify()) throw new Error('the viem loop refuses ehrchain\'s depth-20 proof');
  record('proof_verify/viem-keccak-loop/depth20', 'proofs', await time(viemVerify));
}

await tcGeneration();
await wasmWorkloads();
await proofVerify();
await batchBuild();
if (checkOnly) {
  console.error(`peers reproduce ehrchain: ${fixture.tis.length} TCs x 3 pipelines${existsSync(wasmPackage) ? ' and the WASM package' : ''}, the ${fixture.check_batch.leaves}-leaf root, the depth-20 proof`);
  process.exit(0);
}
process.stdout.write(`${JSON.stringify({
  node: process.versions.node,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  results,
}, null, 2)}\n`);
