// The table of `make bench` (scripts/bench.sh): ehrchain's criterion figures
// beside the Node peers' and the primitive floor from `openssl speed`, each
// with its ratio and the target. Usage: node report.mjs DIR, where DIR
// holds fixture.json, peers.json, openssl.txt, batch_build.time and
// fhir_bundle.time; criterion's estimates are read from target/criterion/.
// Prints a Markdown table and writes DIR/report.json.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';

const dir = process.argv[2] ?? 'target/bench';
const criterionDir = join(dir, '..', 'criterion');
// The batch bench built with ehrchain-core's opt-in `simd-keccak` feature,
// and the keccak-bound benches built with -C target-cpu=native
// (scripts/bench.sh).
const simdCriterionDir = join(dir, '..', 'criterion-simd-keccak');
const nativeCriterionDir = join(dir, '..', 'native', 'criterion');
const EAS_GAS_PER_ATTEST = 254_425;
const RECORD_SIZES = [1, 16, 256];
const ENVELOPE_OVERHEAD = 163; // header (135 + 12-byte key id) + 16-byte tag
const BATCH_LEAVES = [1_000, 100_000, 1_000_000];

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/// Criterion's mean time per iteration in seconds, or undefined.
function criterion(id, root = criterionDir) {
  const path = join(root, id, 'new', 'estimates.json');
  return existsSync(path) ? readJson(path).mean.point_estimate / 1e9 : undefined;
}

/// `openssl speed -mr` results: seconds per operation by "alg:bytes".
function opensslTimes() {
  const times = new Map();
  for (const line of readFileSync(join(dir, 'openssl.txt'), 'utf8').split('\n')) {
    const m = line.match(/^(\d+):\+R:(\d+):([^:]+):([\d.]+)$/);
    if (m) times.set(`${m[3].toLowerCase()}:${m[1]}`, Number(m[4]) / Number(m[2]));
  }
  return times;
}

function peerRate(peers, name) {
  return peers.results.find((r) => r.name === name)?.per_second;
}

function gasFigures() {
  const gas = readFileSync(new URL('../../contracts/GAS.md', import.meta.url), 'utf8');
  const figure = (label) => {
    const row = gas.split('\n').find((l) => l.startsWith(`| ${label}`));
    return row ? Number(row.split('|')[2].replace(/[^\d]/g, '')) : undefined;
  };
  return {
    anchorRecord: figure('`anchorRecord` (a doctor'),
    anchorBatch: figure('`anchorBatch`, 1,048,576 records'),
  };
}

/// "Maximum resident set size" of a `/usr/bin/time -v` run (DIR/NAME.time), in MiB.
function peakRssMiB(name = 'batch_build') {
  const path = join(dir, `${name}.time`);
  if (!existsSync(path)) return undefined;
  const m = readFileSync(path, 'utf8').match(/Maximum resident set size \(kbytes\): (\d+)/);
  return m ? Number(m[1]) / 1024 : undefined;
}

const peers = readJson(join(dir, 'peers.json'));
const ssl = opensslTimes();
const t = (alg, bytes) => ssl.get(`${alg}:${bytes}`);
// What one block costs at OpenSSL's bulk rate: a SHA-256 compression (64
// bytes) and a Keccak-f[1600] permutation (136 bytes of SHA3-256). Timing
// 64-byte messages instead would charge OpenSSL's per-call overhead too and
// overstate the floor of a pipeline of small hashes.
const BULK_SHA256 = 262_307; // the 256 KiB envelope: ceil((n + 9) / 64) compressions
const BULK_SHA3 = 13_600; // 100 full 136-byte blocks, then one of padding
const sha256Block = t('sha256', BULK_SHA256) && t('sha256', BULK_SHA256) / Math.ceil((BULK_SHA256 + 9) / 64);
const keccak = t('sha3-256', BULK_SHA3) && t('sha3-256', BULK_SHA3) / (BULK_SHA3 / 136 + 1);
const rows = [];

function row(workload, unit, ours, peer, floor, target, met) {
  rows.push({
    workload, unit, ehrchain: ours, peer_name: peer?.name, peer: peer?.rate,
    ratio_to_peer: ours && peer?.rate ? ours / peer.rate : undefined,
    floor, ratio_to_floor: ours && floor ? floor / ours : undefined,
    target, met,
  });
}

for (const kib of RECORD_SIZES) {
  const perTi = criterion(`tc_generation/generate/${kib}KiB`);
  const ours = perTi && 1 / perTi;
  const peerName = `viem+node:crypto`;
  const peer = { name: peerName, rate: peerRate(peers, `tc_generation/${peerName}/${kib}KiB`) };
  const bytes = kib * 1024;
  // Per TI: AES-256-GCM of the record, SHA-256 of the envelope, and 14 SHA-256
  // compressions (HKDF with 48 output bytes: 12; the keyed pseudonym: 2).
  const floorTime = t('aes-256-gcm', bytes) + t('sha256', bytes + ENVELOPE_OVERHEAD) + 14 * sha256Block;
  const floor = floorTime ? 1 / floorTime : undefined;
  const met = ours && peer.rate && floor ? ours >= 10 * peer.rate && ours >= floor / 2 : undefined;
  row(`TC generation, ${kib} KiB record (native, one core)`, 'TIs/s', ours, peer, floor,
    '>= 10x peer, >= floor/2', met);
}

const WASM_VARIANTS = [
  ['ehrchain-wasm', 'WASM package in Node, generate'],
  ['ehrchain-wasm+webcrypto', 'WASM package in Node, generateAsync: AES-GCM by WebCrypto, the record hash in WebAssembly'],
];
for (const [label, what] of WASM_VARIANTS) {
  for (const kib of RECORD_SIZES) {
    const wasm = peerRate(peers, `tc_generation/${label}/${kib}KiB`);
    const peerName = 'viem+webcrypto';
    const peer = { name: peerName, rate: peerRate(peers, `tc_generation/${peerName}/${kib}KiB`) };
    row(`TC generation, ${kib} KiB record (${what})`, 'TIs/s', wasm, peer, undefined, '> peer',
      wasm && peer.rate ? wasm > peer.rate : undefined);
  }
}

for (const kib of RECORD_SIZES) {
  for (const op of ['seal', 'open']) {
    const perOp = criterion(`seal/${op}/${kib}KiB`);
    const bytes = kib * 1024;
    const floorTime = t('aes-256-gcm', bytes) + 12 * sha256Block;
    row(`Envelope ${op}, ${kib} KiB (HKDF + AES-256-GCM)`, 'MB/s', perOp && bytes / perOp / 1e6, undefined,
      floorTime && bytes / floorTime / 1e6, '', undefined);
  }
}

// The default build hashes one Keccak-256 at a time; `simd-keccak` changes
// batch leaves and verify_many only, so its build has no one-at-a-time row.
const builds = [
  ['', criterionDir],
  [', simd-keccak', simdCriterionDir],
  [', target-cpu=native', nativeCriterionDir],
];
for (const [build, root] of builds) {
  for (const leaves of BATCH_LEAVES) {
    const perBatch = criterion(`batch_build/${leaves}`, root);
    if (build && !perBatch) continue;
    const ours = perBatch && leaves / perBatch;
    const peer = { name: '@openzeppelin/merkle-tree', rate: peerRate(peers, `batch_build/openzeppelin-merkle-tree/${leaves}`) };
    // 2 keccak-256 per leaf and 1 per inner node, spread over the cores.
    const floor = keccak && leaves / ((3 * leaves * keccak) / os.cpus().length);
    const met = ours && peer.rate ? ours >= 20 * peer.rate && (leaves < 1_000_000 || perBatch < 1) : undefined;
    row(`Batch build, ${leaves.toLocaleString('en')} records (all cores${build})`, 'records/s', ours, peer, floor,
      leaves === 1_000_000 ? '>= 20x peer, < 1 s' : '>= 20x peer', met);
  }
  const perProof = criterion('proof_verify/depth20', root);
  const perMany = criterion('proof_verify/depth20_many', root);
  if (build && !perMany) continue;
  if (!build) {
    const wasm = peerRate(peers, 'proof_verify/ehrchain-wasm/depth20');
    const peer = { name: 'viem keccak loop', rate: peerRate(peers, 'proof_verify/viem-keccak-loop/depth20') };
    row('Proof verification, depth 20 (WASM package in Node)', 'proofs/s', wasm, peer, undefined, '> peer',
      wasm && peer.rate ? wasm > peer.rate : undefined);
  }
  const peer = { name: '@openzeppelin/merkle-tree', rate: peerRate(peers, 'proof_verify/openzeppelin-merkle-tree/depth20') };
  const floor = keccak && 1 / (22 * keccak);
  // One proof is a chain of 22 dependent keccaks: latency, not a target.
  if (root !== simdCriterionDir) {
    const one = perProof && 1 / perProof;
    row(`Proof verification, depth 20, one at a time (one core${build})`, 'proofs/s', one, peer, floor, '', undefined);
  }
  // criterion reports the time of 1,024 proofs per iteration.
  const many = perMany && 1024 / perMany;
  row(`Proof verification, depth 20, 1,024 at once with verify_many (one core${build})`, 'proofs/s', many, peer,
    floor, '>= 150,000/s', many ? many >= 150_000 : undefined);
}

{
  // Direct and C ABI calls alternated in one bench (benches/ffi_overhead.rs).
  const path = join(dir, 'ffi_overhead.json');
  if (existsSync(path)) {
    const { overhead } = readJson(path);
    rows.push({ workload: 'C ABI overhead on TC generation, 1 KiB', unit: '%', ehrchain: overhead * 100,
      target: '< 5%', met: overhead < 0.05 });
  }
}

{
  // The FHIR mapping (benches/benches/fhir.rs): an Observation → TC beside the
  // same record given as a TI, and a 10,000-entry Bundle → one batch.
  const perObservation = criterion('fhir_observation/observation_to_tc/blood-pressure');
  const perTi = criterion('fhir_observation/ti_to_tc/blood-pressure');
  const peer = { name: 'the same record as a TI', rate: perTi && 1 / perTi };
  row('FHIR Observation → TC, blood pressure (one core)', 'Observations/s', perObservation && 1 / perObservation,
    peer, undefined, '', undefined);
  // The target is judged on the alternated calls (benches/benches/fhir.rs),
  // as the C ABI's overhead is: this machine's speed drifts between benches.
  // Like for like, both records arrive as JSON text (as from a C or JS host);
  // beside it, the TI already a Rust struct (nothing to read) for reference.
  for (const [file, label, target] of [
    ['fhir_overhead_text.json', 'cost over the same record as TI JSON text', '<= 1.5×'],
    ['fhir_overhead.json', 'cost over the same TI as a Rust struct (no reading)', ''],
  ]) {
    const path = join(dir, file);
    if (existsSync(path)) {
      const { overhead } = readJson(path);
      rows.push({ workload: `FHIR Observation → TC, ${label} (alternated)`, unit: '×',
        ehrchain: 1 + overhead, target, met: target ? 1 + overhead <= 1.5 : undefined });
    }
  }
  const entries = 10_000;
  const perBundle = criterion(`fhir_bundle/to_batch/${entries}`);
  row(`FHIR Bundle of ${entries.toLocaleString('en')} entries → TIs → TCs → one batch`, 'entries/s',
    perBundle && entries / perBundle, undefined, undefined, '', undefined);
  const fhirRss = peakRssMiB('fhir_bundle');
  if (fhirRss) {
    rows.push({ workload: `Peak RSS, FHIR Bundle of ${entries.toLocaleString('en')} entries → one batch`, unit: 'MiB',
      ehrchain: fhirRss, target: '', met: undefined });
  }
}

{
  // Authors' signatures (benches/benches/authorship.rs): recover + a cached
  // role lookup, and signing with a local key, beside viem on the same
  // statements (benches/peers/authorship.mjs). Target: at least 5× viem.
  const path = join(dir, 'authorship_peers.json');
  const viem = existsSync(path) ? readJson(path) : {};
  for (const [op, label] of [['verify', 'verification (recover + role lookup)'], ['sign', 'signing (local key)']]) {
    const ours = criterion(`authorship/${op}`);
    const rate = ours && 1 / ours;
    const peer = viem[op] && { name: op === 'verify' ? 'viem recoverTypedDataAddress' : 'viem signTypedData', rate: viem[op] };
    row(`Signed statement ${label} (one core)`, `${op === 'verify' ? 'verifications' : 'signatures'}/s`, rate, peer,
      undefined, '>= 5x peer', rate && peer ? rate / peer.rate >= 5 : undefined);
  }
}

{
  // Key capsules (benches/benches/capsule.rs): HPKE seal and open of a record
  // key, both suites, beside @hpke/core on the same keys and headers
  // (benches/peers/capsule.mjs; the faster @hpke KEM for X25519) and the npm
  // package. Target: at least 3x @hpke/core for the classic suite.
  const path = join(dir, 'capsule_peers.json');
  const peers = existsSync(path) ? readJson(path) : {};
  for (const [suite, label] of [['x25519', 'X25519'], ['x_wing', 'X-Wing']]) {
    const js = Object.entries(peers[suite] ?? {});
    for (const op of ['seal', 'open']) {
      const ours = criterion(`capsule/${op}/${suite}`);
      const rate = ours && 1 / ours;
      const [name, best] = js.filter(([n]) => n.startsWith('@hpke'))
        .reduce((a, b) => (b[1][op] > (a[1]?.[op] ?? 0) ? b : a), [undefined, undefined]);
      const peer = best && { name, rate: best[op] };
      const classic = suite === 'x25519';
      row(`Key capsule ${op}, ${label} (native, one core)`, 'capsules/s', rate, peer, undefined,
        classic ? '>= 3x peer' : '', classic && rate && peer ? rate / peer.rate >= 3 : undefined);
      const wasm = peers[suite]?.['ehrchain npm package (WASM)'];
      if (wasm) row(`Key capsule ${op}, ${label} (WASM package in Node)`, 'capsules/s', wasm[op], peer, undefined, '', undefined);
    }
  }
}

{
  // The anchoring pipeline end to end on Hardhat with 1 s blocks
  // (scripts/bench-anchoring.sh): one JSON line per gateway run or viem mode.
  const path = join(dir, 'anchoring.jsonl');
  const runs = existsSync(path)
    ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    : [];
  const of = (mode) => runs.filter((r) => r.mode === mode);
  const viem = of('viem-promise-all')[0];
  const peer = viem && { name: `viem writeContract + waitForTransactionReceipt, Promise.all over ${viem.lanes}`, rate: viem.tisPerSecond };
  const floorMs = 2 * 1000; // 2 confirmations of 1 s blocks
  for (const [mode, label] of [['batched', 'batched, outbox off'], ['batched-outbox', 'batched, SQLite outbox'],
    ['urgent', 'one TI per transaction'], ['overload', 'batched, 10x overload']]) {
    const [r] = of(mode);
    if (!r) continue;
    const batched = mode.startsWith('batched');
    row(`Anchoring end to end, ${label} (Hardhat, 1 s blocks, ${Math.round(r.seconds)} s)`, 'TIs/s', r.tisPerSecond, peer,
      undefined, batched ? '>= 50,000' : '', batched ? r.tisPerSecond >= 50_000 : undefined);
    rows.push({ workload: `ACK latency p50 / p99, ${label}`, unit: 'ms', ehrchain: r.latencyP99Ms, peer_name: `p50 ${Math.round(r.latencyP50Ms)} ms`,
      floor: floorMs, ratio_to_floor: r.latencyP99Ms / floorMs, target: batched ? '<= floor + 2 s' : '',
      met: batched ? r.latencyP99Ms <= floorMs + 2000 : undefined });
    rows.push({ workload: `Peak RSS and CPU per TI, ${label}`, unit: 'MiB', ehrchain: r.peakRssKiB / 1024,
      peer_name: `${r.cpuMsPerTi.toFixed(3)} ms CPU per TI; ${r.busy} pushes refused as busy`, target: '', met: undefined });
  }
  const four = of('four-gateways');
  if (four.length) {
    const total = four.reduce((sum, r) => sum + r.tisPerSecond, 0);
    const [one] = of('batched');
    row('Anchoring end to end, four gateways at once (aggregate)', 'TIs/s', total,
      one && { name: 'one gateway', rate: one.tisPerSecond }, undefined, '', undefined);
  }
  const sequential = of('viem-sequential')[0];
  if (sequential) {
    row('viem writeContract + waitForTransactionReceipt, one after the other (peer)', 'TIs/s', sequential.tisPerSecond,
      undefined, undefined, '', undefined);
  }
}

const gas = gasFigures();
const batchPerRecord = gas.anchorBatch / 65_536;
rows.push({ workload: 'Gas per record, anchorRecord (one per tx)', unit: 'gas', ehrchain: gas.anchorRecord,
  peer_name: 'EAS attest', peer: EAS_GAS_PER_ATTEST, ratio_to_peer: EAS_GAS_PER_ATTEST / gas.anchorRecord,
  target: '', met: undefined });
rows.push({ workload: 'Gas per record, anchorBatch of 65,536', unit: 'gas', ehrchain: batchPerRecord,
  peer_name: 'EAS attest', peer: EAS_GAS_PER_ATTEST, ratio_to_peer: EAS_GAS_PER_ATTEST / batchPerRecord,
  target: '', met: undefined });

const size = peers.results.find((r) => r.name === 'size/ehrchain-wasm');
if (size) {
  rows.push({ workload: '.wasm size, gzip -9', unit: 'KiB', ehrchain: size.gzip_bytes / 1024,
    target: '< 300 KiB', met: size.gzip_bytes < 300 * 1024 });
}

const rss = peakRssMiB();
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.versions.node,
  openssl: execFileSync('openssl', ['version']).toString().trim(),
  rustc: execFileSync('rustc', ['--version']).toString().trim(),
  batch_1m_peak_rss_mib: rss,
  fhir_bundle_10k_peak_rss_mib: peakRssMiB('fhir_bundle'),
};
writeFileSync(join(dir, 'report.json'), `${JSON.stringify({ machine, rows }, null, 2)}\n`);

const fmt = (x) => (x === undefined || Number.isNaN(x) ? '–' : x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(x >= 10 ? 1 : 2));
const ratio = (x) => (x === undefined ? '–' : `${fmt(x)}×`);
const verdict = (m) => (m === undefined ? '' : m ? 'met' : '**not met**');
console.log(`Machine: ${machine.cpu}, ${machine.cores} cores; ${machine.rustc}; Node ${machine.node}; ${machine.openssl}`);
if (rss) console.log(`Peak RSS of a 1,000,000-record batch build: ${fmt(rss)} MiB (target < 320 MiB)`);
console.log('');
console.log('| workload | unit | ehrchain | peer | peer figure | ehrchain / peer | floor | floor / ehrchain | target | |');
console.log('|---|---|---:|---|---:|---:|---:|---:|---|---|');
for (const r of rows) {
  console.log(`| ${r.workload} | ${r.unit} | ${fmt(r.ehrchain)} | ${r.peer_name ?? ''} | ${fmt(r.peer)} | ${ratio(r.ratio_to_peer)} | ${fmt(r.floor)} | ${ratio(r.ratio_to_floor)} | ${r.target ?? ''} | ${verdict(r.met)} |`);
}
console.log(`\n(written to ${join(dir, 'report.json')})`);
