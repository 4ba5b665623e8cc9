// The patient's records found from their wallet over an EIP-1193 provider
// (docs/consent.md, "The patient's records"): the core's
// PatientRecordsQuery (through the WebAssembly module) names the two
// `eth_getLogs` requests and reads their answers; this file only makes them.

import { patientBindingsRequest, patientRecordsOf, patientRecordsRequest } from "./ehrchain_wasm.js";

/**
 * The records of the pseudonyms `patient` (an account) is bound to on the
 * `consent` contract, anchored one by one in `registry` from block
 * `fromBlock` (default 0): `{pseudonyms, records}`, oldest first. Records
 * anchored inside a Merkle batch are not found (the chain does not link
 * them to their pseudonym).
 */
export async function patientRecords(provider, { registry, consent, patient }, { fromBlock } = {}) {
  const query = { registry, consent, patient };
  const ask = ({ method, params }) => provider.request({ method, params });
  const bound = await ask(patientBindingsRequest(query, fromBlock));
  const records = patientRecordsRequest(query, bound, fromBlock);
  return patientRecordsOf(query, bound, records === undefined ? [] : await ask(records));
}
