// Compiles src/EhrRegistry.sol and src/EhrConsent.sol (and the test contracts in test/) with the
// pinned solc-js (package.json) through solc's standard JSON interface and
// writes artifacts/<Contract>.json for each: ABI, creation and runtime
// bytecode, and the compiler settings. The output is a
// pure function of the sources and the pinned packages, so a rebuild can be
// compared byte for byte with the committed artifact.
//
//   node scripts/build.mjs [out-dir]     (default: artifacts/)

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = resolve(process.argv[2] ?? join(root, "artifacts"));

// The registry and consent, and the contracts only tests deploy (an ERC-1271
// author; the recipient-key designs the gas report compares).
const CONTRACTS = [
  { name: "EhrRegistry", source: "src/EhrRegistry.sol" },
  { name: "EhrConsent", source: "src/EhrConsent.sol" },
  { name: "SmartAccountAuthor", source: "test/SmartAccountAuthor.sol" },
  { name: "RecipientKeyProbe", source: "test/RecipientKeyProbe.sol" },
];

// Ganache 7.9, the paper's local chain, knows nothing newer than Shanghai:
// newer defaults deploy but then fail with invalid opcodes. Set it explicitly.
const settings = {
  evmVersion: "shanghai",
  optimizer: { enabled: true, runs: 10000 },
  // The IR pipeline saves gas on every path (verifyRecord at depth 20 would
  // miss its 8,000-gas budget without it).
  viaIR: true,
  metadata: { bytecodeHash: "ipfs" },
  outputSelection: Object.fromEntries(
    CONTRACTS.map(({ name, source }) => [source, { [name]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] }]),
  ),
};

// Opcodes introduced after Shanghai (Cancun: TLOAD, TSTORE, MCOPY, BLOBHASH,
// BLOBBASEFEE). None may appear in code meant for a Shanghai chain.
const POST_SHANGHAI = new Map([
  [0x5c, "TLOAD"],
  [0x5d, "TSTORE"],
  [0x5e, "MCOPY"],
  [0x49, "BLOBHASH"],
  [0x4a, "BLOBBASEFEE"],
]);

function findImports(path) {
  try {
    const file = path.startsWith("@") ? require.resolve(path) : join(root, path);
    return { contents: readFileSync(file, "utf8") };
  } catch (e) {
    return { error: `cannot import ${path}: ${e.message}` };
  }
}

/// Walks `code` as EVM instructions (skipping PUSH data) and returns the
/// post-Shanghai opcodes it meets.
function forbiddenOpcodes(code) {
  const found = [];
  for (let pc = 0; pc < code.length; pc++) {
    const op = code[pc];
    if (op >= 0x60 && op <= 0x7f) {
      pc += op - 0x5f;
    } else if (POST_SHANGHAI.has(op)) {
      found.push(`${POST_SHANGHAI.get(op)} at ${pc}`);
    }
  }
  return found;
}

/// The runtime code without its trailing CBOR metadata (data, not code).
function stripMetadata(code) {
  const len = (code[code.length - 2] << 8) | code[code.length - 1];
  return code.subarray(0, code.length - 2 - len);
}

const input = {
  language: "Solidity",
  sources: Object.fromEntries(
    CONTRACTS.map(({ source }) => [source, { content: readFileSync(join(root, source), "utf8") }]),
  ),
  settings,
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const diagnostics = output.errors ?? [];
for (const d of diagnostics) console.error(d.formattedMessage ?? d.message);
if (diagnostics.length > 0) {
  console.error(`build failed: ${diagnostics.length} compiler diagnostic(s); the build allows none`);
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });
for (const { name, source } of CONTRACTS) writeArtifact(name, source, output.contracts[source][name]);

/// Checks one compiled contract for post-Shanghai opcodes and writes its artifact.
function writeArtifact(name, source, contract) {
  const bytecode = contract.evm.bytecode.object;
  const deployed = contract.evm.deployedBytecode.object;
  const runtime = stripMetadata(Buffer.from(deployed, "hex"));
  const creation = Buffer.from(bytecode, "hex");
  // The creation code is the constructor, then the runtime code, then (with the
  // IR pipeline) constants the constructor copies: scan the first two as code.
  const runtimeAt = bytecode.indexOf(deployed);
  if (runtimeAt < 0 || runtimeAt % 2 !== 0) {
    console.error(`build failed: the runtime code of ${name} is not inside its creation code`);
    process.exit(1);
  }
  const initCode = creation.subarray(0, runtimeAt / 2);
  const bad = [...forbiddenOpcodes(initCode), ...forbiddenOpcodes(runtime)];
  if (bad.length > 0) {
    console.error(`build failed: post-Shanghai opcodes in ${name}: ${bad.join(", ")}`);
    process.exit(1);
  }

  const artifact = {
    contractName: name,
    sourceName: source,
    compiler: {
      name: "solc-js",
      version: solc.version(),
      openzeppelinContracts: require("@openzeppelin/contracts/package.json").version,
      settings: {
        evmVersion: settings.evmVersion,
        optimizer: settings.optimizer,
        viaIR: settings.viaIR,
        metadata: settings.metadata,
      },
    },
    abi: contract.abi,
    bytecode: `0x${bytecode}`,
    deployedBytecode: `0x${deployed}`,
  };
  const file = join(outDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(artifact, null, 2)}\n`);
  console.log(
    `wrote ${file}: ${creation.length} bytes creation code, ${deployed.length / 2} bytes runtime code (solc ${solc.version()}, evm ${settings.evmVersion})`,
  );
}
