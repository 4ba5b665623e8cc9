// The public API of the ehrchain package: exactly these names, which both
// entries (index.js for Node, web.js for browsers) export once the
// WebAssembly module is ready. Everything else in ehrchain_wasm.js and
// eip1193.js (registry calldata, log and revert decoding, error helpers) is
// internal to the package; the `exports` map of package.json keeps it out of
// reach. tests/exports.test.mjs checks this list against the README and the
// .d.ts.
export {
  Batch,
  BatchBuilder,
  ChainTransaction,
  Handshaker,
  InclusionProof,
  PreparedTransaction,
  Templates,
  Validator,
  Watcher,
  decodeRevert,
  envelopeInfo,
  fhirFromAck,
  fhirMapBundle,
  fhirMapResource,
  openEnvelope,
  roleId,
  sealEnvelope,
  verifyProof,
  verifyProofAnchored,
  version,
} from "./ehrchain_wasm.js";
export { Eip1193Transport, deployRegistry, runValidator, runWatcher, submitTi } from "./eip1193.js";
