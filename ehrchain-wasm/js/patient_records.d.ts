import type { PatientRecords } from "./ehrchain_wasm.js";
import type { Eip1193Provider } from "./eip1193.js";

/**
 * The records of the pseudonyms a patient's account is bound to (`EhrConsent`'s `PatientBound` minus
 * `PatientUnbound`), anchored one by one in the registry; batched records are not linkable by pseudonym.
 */
export declare function patientRecords(
  provider: Eip1193Provider, query: { registry: string; consent: string; patient: string }, options?: { fromBlock?: number },
): Promise<PatientRecords>;
