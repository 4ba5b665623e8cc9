import type {
  Accounting, CapsuleAuthority, CapsuleSuite, ConsentDomain, ConsentGrant, ConsentRevocation, Disclosure, Handshaker,
  Hex, ProofInput, Received, RecipientKeyStore, Share, SharingContext, TxReceipt,
} from "./ehrchain_wasm.js";
import type { Eip1193Provider } from "./eip1193.js";

/** The holder reads consent and the recipient's key at one mined block and seals the record key for it. */
export declare function shareRecord(provider: Eip1193Provider, share: {
  context: SharingContext; envelope: Uint8Array; recipient: string; authority: CapsuleAuthority;
  publicKey: Uint8Array; suite?: CapsuleSuite; handshaker: Handshaker;
}): Promise<Share>;

/** The recipient opens a shared record and checks it against the chain at one mined block. */
export declare function receiveRecord(provider: Eip1193Provider, receive: {
  context: SharingContext; recipient: string; capsule: Uint8Array; envelope: Uint8Array;
  /** The recipient's private key, or a key store that answers it for the capsule's key id and suite. */
  privateKey: Uint8Array | RecipientKeyStore;
  /** The record's inclusion proof, when it was anchored in a Merkle batch. */
  proof?: ProofInput;
  /** The record's signed proof (version 2, any form), when it was anchored in a signed batch. */
  signedProof?: Uint8Array | string | object;
}): Promise<Received>;

/** A custodian records the disclosures of capsules handed out (all or none); the receipt. */
export declare function recordDisclosures(provider: Eip1193Provider, record: {
  context: SharingContext; from: string; disclosures: Disclosure[];
}): Promise<TxReceipt>;

/** A pseudonym's accounting of disclosures, from the chain's logs. */
export declare function accounting(
  provider: Eip1193Provider, consent: string, subject: string, options?: { fromBlock?: number },
): Promise<Accounting>;

/** The patient's wallet signs a grant or a revocation (`eth_signTypedData_v4`); the signature. */
export declare function signConsent(
  provider: Eip1193Provider, domain: ConsentDomain, statement: ConsentGrant | ConsentRevocation,
): Promise<Hex>;

/** Relays a signed grant or revocation from any account; the receipt. */
export declare function relayConsent(provider: Eip1193Provider, relay: {
  context: SharingContext; from: string; statement: ConsentGrant | ConsentRevocation; signature: string;
}): Promise<TxReceipt>;

/** A custodian binds a patient's account to their pseudonym; the receipt. */
export declare function bindPatient(provider: Eip1193Provider, bind: {
  context: SharingContext; from: string; subject: string; account: string;
}): Promise<TxReceipt>;

/** A recipient publishes (or rotates to) its encryption key; the receipt. */
export declare function publishRecipientKey(provider: Eip1193Provider, publish: {
  context: SharingContext; from: string; suite: CapsuleSuite; publicKey: Uint8Array;
}): Promise<TxReceipt>;

/** Deploys EhrConsent over a registry and grants the custodian and emergency roles; resolves to its address. */
export declare function deployConsent(provider: Eip1193Provider, setup: {
  chainId: number; admin: string; registry: string; custodians?: string[]; emergency?: string[];
}): Promise<Hex>;
