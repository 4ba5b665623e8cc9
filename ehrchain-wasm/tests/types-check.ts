// Type-checked (tsc --strict --noEmit, tests/types.test.mjs) against the
// built package's .d.ts: a host program using the API the way the README and
// the portal do. A type that drifts from the runtime shapes fails here. No
// casts: values a host has as plain strings (accounts from its wallet, ids
// from its database) go in as they are; ehrchain checks them at run time.
import {
  Eip1193Transport, Handshaker, InclusionProof, Templates, deployRegistry, envelopeInfo, fhirFromAck, fhirMapBundle,
  fhirMapResource, fhirAuditEvent, fhirProvenance, runValidator, submitTi, verifyProof, verifyProofAnchored, eip1193Signer, grantRole, registerTemplates,
  type SigningRequest, type Signer, type SignedStatement, type TypedData,
  type Ack, type ChainTransaction, type EhrchainError, type EnvelopeInfo, type Form, type Hex, type InitialTransaction,
  type OnChainVerification, type ProofJson, type TemplateDoc, type Transmit, type TxReceipt, type FhirBundle, type FhirMappedTi,
  type FhirMapping, type FhirOptions, type FhirResource, type FhirUnmapped, type FhirAckResource,
  type FhirAuditEvent, type FhirProvenance,
  KeyCapsule, generateRecipientKey, recipientKeyId, recipientPublicKey, sealCapsule,
  type CapsuleBinding, type CapsuleSuite,
  accounting, consentGrantId, consentSigningDigest, consentTypedData, deployConsent, disclosureTransaction, receiveRecord, recordDisclosures,
  relayConsent, shareRecord, signConsent, bindPatient, publishRecipientKey,
  type Accounting, type ConsentDomain, type ConsentGrant, type ConsentRevocation, type ConsentTransaction, type ConsentTypedData,
  type AnchorEvidence, type DisclosureEntry, type Evidence, type GrantEntry, type MinedBlock, type Received, type Share, type SharingContext,
} from "../pkg/index.js";
import { patientRecords, type PatientRecord, type PatientRecords, type PatientRecordsQuery } from "../pkg/index.js";
import { resumeAll, type ResumableOutbox, type ResumeError, type ResumeReport, type ValidatorEntry } from "../pkg/index.js";
import {
  localSigner, openEnvelope, sealEnvelope, verifyProofs, type ErrorCode, type KeyStore, type ProofInput, type RecipientKeyStore,
} from "../pkg/index.js";

declare const provider: { request(args: { method: string; params?: unknown[] }): Promise<unknown> };
/** What a host reads from its configuration, its wallet and its database: plain strings. */
declare const config: { registry: string; accounts: string[]; tiId: string; templateId: string; storedEnvelope: string };

function isEhrchainError(e: unknown): e is EhrchainError {
  return e instanceof Error && e.name === "EhrchainError";
}

export async function example(registry: string): Promise<string> {
  const templates: Templates = Templates.builtIn();
  const forms: Form[] = templates.formsFor("doctor");
  const form = forms[0];
  const fieldNames: string[] = form.fields.map((f) => `${f.name}:${f.type ?? "system"}:${f.required ?? false}`);
  // Documents from get() and latest() carry their id.
  const doc: TemplateDoc & { id: Hex } | undefined = templates.get(config.templateId);
  const bpId: Hex | undefined = templates.latest("blood-pressure")?.id;
  const hs = new Handshaker({ chainId: 1337, registry, sealingKeyId: "k", pseudonymKeyId: "p", validator: { confirmations: 1 } },
    { k: new Uint8Array(32), p: config.storedEnvelope }, templates);
  const ti: InitialTransaction = {
    tiId: config.tiId, templateId: form.templateId, authorId: "dr", authorRole: "doctor", timestamp: 1, fields: { systolic: 120 },
  };
  const tc = hs.generate(ti);
  const viaWebCrypto: ChainTransaction = await hs.generateAsync(ti, 1);
  const sealedHere: Uint8Array = hs.prepare(ti).header();
  const calldata: Hex = tc.calldata;
  const bytes: Uint8Array = tc.envelope;
  const info: EnvelopeInfo = envelopeInfo(config.storedEnvelope);
  const opened: Uint8Array = hs.open(config.storedEnvelope);
  const [admin, doctor] = config.accounts;
  const deployed: Hex = await deployRegistry(provider, { chainId: 1337, admin, grants: [["doctor", doctor]], templates });
  // Later, on the live registry: a nurse and a new template.
  const granted: TxReceipt = await grantRole(provider, { chainId: 1337, registry: deployed, admin, role: "nurse", account: config.accounts[3] });
  const registered: TxReceipt[] = await registerTemplates(provider, { chainId: 1337, registry: deployed, admin, templates, ids: [config.templateId] });
  if (!granted.status || registered.some((r) => !r.status)) throw new Error("reverted");
  const transport = new Eip1193Transport(provider, { chainId: 1337, registry: deployed, from: admin, senders: { doctor } });
  const ack: Ack = await submitTi(hs, ti, transport, { onWebCryptoFallback: (e) => console.warn(e.code, e.message) });
  let summary: string;
  if (ack.status === "valid") {
    summary = `${ack.txHash ?? "recovered"} ${ack.replay}`;
    const proof: ProofJson | null = ack.batch;
    if (proof) verifyProofAnchored(proof, { root: proof.root, leafCount: proof.leafCount });
  } else {
    const reason = ack.reason;
    summary = reason.kind === "contract_revert" ? reason.revert.error ?? reason.revert.detail
      : reason.kind === "template_violations" ? reason.violations.map((v) => v.message).join()
      : reason.kind === "unconfirmed" ? `${reason.txHash} in ${reason.blockNumber}, head ${reason.head}`
      : reason.kind;
  }
  // The doctor signs in the wallet; the handshaker account relays.
  const signer: Signer = eip1193Signer(provider, doctor);
  const signedAck: Ack = await submitTi(hs, ti, transport, { signer });
  const signedBy: Hex | undefined = signedAck.authorship?.statement.author;
  if (signedAck.status === "invalid" && signedAck.reason.kind === "authorship") summary += signedAck.reason.code;
  const request: SigningRequest = tc.signingRequest(doctor);
  const typed: TypedData = request.typedData;
  const relayed: ChainTransaction = request.attach(await signer.sign(request));
  const shown: string = typed.domain.verifyingContract;
  const carried: SignedStatement | undefined = relayed.authorship;
  const viaOutcome = hs.validatorForSigned(request, { error: "declined" });
  summary += `${signedBy ?? ""}${request.digest}${carried?.signature ?? ""}${viaOutcome.isFinished}${shown}`;
  const v = tc.validator({ pollIntervalMs: 10 });
  const next: Transmit | undefined = v.pollTransmit(Date.now());
  if (next?.kind === "poll") summary += next.txHash;
  const [first]: Ack[] = await runValidator(v, transport);
  // An InclusionProof is a proof input like its binary, text and JSON forms.
  const parsed = InclusionProof.parse(new Uint8Array());
  const text: string = parsed.toText();
  const checked: ProofJson = verifyProof(parsed);
  verifyProofAnchored(parsed, await transport.anchoredBatch(parsed.root));
  const onChain: boolean = await transport.verifyOnChain(parsed);
  const detailed: OnChainVerification = await transport.verifyOnChainDetailed(text);
  if (!detailed.verified) summary += `${detailed.error?.code} ${detailed.error?.reason} ${detailed.revert?.error}`;
  const stored: Hex | null = await transport.recordHashOf(config.tiId);
  try {
    hs.generate("{}", 1);
  } catch (e) {
    if (isEhrchainError(e)) summary += e.code + (e.violations?.length ?? 0);
  }
  return `${summary} ${calldata} ${bytes.length} ${fieldNames} ${first.tiId} ${text} ${viaWebCrypto.recordHash} ${sealedHere.length}`
    + ` ${doc?.id} ${bpId} ${info.recordHash} ${opened.length} ${checked.root} ${onChain} ${stored}`;
}

/** FHIR in and out, typed: a Bundle in, TIs and FHIR resources out. */
export async function fhirExample(templates: Templates, hs: Handshaker, registry: string, ack: Ack): Promise<string> {
  const observation: FhirResource = {
    resourceType: "Observation", status: "final",
    code: { coding: [{ system: "http://loinc.org", code: "8867-4" }] },
    valueQuantity: { value: 72, unit: "/min", system: "http://unitsofmeasure.org", code: "/min" },
  };
  const bundle: FhirBundle = { resourceType: "Bundle", type: "collection", entry: [{ resource: observation }] };
  const options: FhirOptions = { patientIdentifierSystem: "urn:oid:1.2.36.146.595.217.0.1" };
  const mapping: FhirMapping = fhirMapBundle(templates, bundle, options);
  const reasons: string[] = mapping.unmapped.map((u: FhirUnmapped) => `${u.fullUrl ?? u.index}: ${u.code} ${u.reason}`);
  const entry: FhirMappedTi = fhirMapResource(templates, JSON.stringify(bundle), options);
  const ti: InitialTransaction = entry.ti;
  const tc = hs.generate(ti);
  const resource: FhirAckResource = fhirFromAck(ack, entry, { chainId: 1337, registry }, Date.now());
  const when: string = resource.resourceType === "Provenance" ? resource.recorded : resource.recorded;
  // An audit log records every ACK as an AuditEvent (outcome "0" for a valid one).
  const audit: FhirAuditEvent = fhirAuditEvent(ack, entry, { chainId: 1337, registry }, Date.now());
  const outcome: string | undefined = audit.outcome;
  const provenance: FhirProvenance | undefined = fhirProvenance(ack, entry, { chainId: 1337, registry }, Date.now());
  return `${reasons.join()} ${tc.tiId} ${resource.resourceType} ${when} ${outcome} ${provenance?.target.length}`;
}

/** Key capsules, typed: a holder wraps a record's key for a recipient, who opens it. */
export function capsuleExample(envelope: Uint8Array, masterKey: Uint8Array, recordHash: string): string {
  const suite: CapsuleSuite = "x25519";
  const privateKey: Uint8Array = generateRecipientKey(suite);
  const publicKey: Uint8Array = recipientPublicKey(suite, privateKey);
  const keyId: Hex = recipientKeyId(suite, publicKey);
  const binding: CapsuleBinding = {
    chainId: 1337, registry: config.registry, recordHash, recipient: config.accounts[1], authority: { grant: config.tiId },
  };
  const bytes: Uint8Array = sealCapsule(envelope, masterKey, binding, suite, publicKey);
  const capsule = KeyCapsule.parse(bytes);
  const read: CapsuleBinding = capsule.binding;
  const readSuite: CapsuleSuite = capsule.suite;
  const recordKey: Uint8Array = capsule.open(binding, privateKey);
  const record: Uint8Array = capsule.openEnvelope({ ...binding, authority: "emergency" }, privateKey, envelope);
  const named: Hex = capsule.recipientKeyId;
  capsule.free();
  return `${keyId} ${named} ${read.chainId} ${readSuite} ${recordKey.length} ${record.length} ${generateRecipientKey().length}`;
}

/** Sharing with consent, typed: the patient grants, the holder shares, the recipient opens, the patient reads the accounting. */
export async function sharingExample(hs: Handshaker, envelope: Uint8Array, publicKey: Uint8Array, privateKey: Uint8Array): Promise<string> {
  const [admin, hospitalA, hospitalB, patient] = config.accounts;
  const consent: Hex = await deployConsent(provider, { chainId: 1337, admin, registry: config.registry, custodians: [hospitalA] });
  const context: SharingContext = { chainId: 1337, registry: config.registry, consent };
  const domain: ConsentDomain = { chainId: 1337, consent };
  const subject = hs.pseudonym("MRN-000123");
  await bindPatient(provider, { context, from: hospitalA, subject, account: patient });
  await publishRecipientKey(provider, { context, from: hospitalB, suite: "x_wing", publicKey });
  const grant: ConsentGrant = {
    subject, patient, recipient: hospitalB, templateIds: [config.templateId], expiresAt: 1_900_000_000, nonce: 1, deadline: 1_800_000_000,
  };
  const typed: ConsentTypedData = consentTypedData(domain, grant);
  const grantId: Hex = consentGrantId(domain, grant);
  const signature: Hex = await signConsent(provider, domain, grant);
  await relayConsent(provider, { context, from: hospitalA, statement: grant, signature });
  const share: Share = await shareRecord(provider, {
    context, envelope, recipient: hospitalB, authority: { grant: grantId }, publicKey, suite: "x_wing", handshaker: hs,
  });
  const checkedAt: MinedBlock = share.checkedAt;
  const tx: ConsentTransaction = disclosureTransaction(context, [share.disclosure]);
  const receipt = await recordDisclosures(provider, { context, from: hospitalA, disclosures: [share.disclosure] });
  const received: Received = await receiveRecord(provider, { context, recipient: hospitalB, capsule: share.capsule, envelope, privateKey });
  const evidence: Evidence = received.evidence;
  const anchor: AnchorEvidence = evidence.anchor;
  const root: string | undefined = anchor.kind === "batch" ? anchor.root : undefined;
  // A record of a batch comes with its proof (any ProofInput).
  await receiveRecord(provider, { context, recipient: hospitalB, capsule: share.capsule, envelope, privateKey, proof: "EHRP:" });
  const book: Accounting = await accounting(provider, consent, subject, { fromBlock: 0 });
  const first: DisclosureEntry | undefined = book.disclosures[0];
  const grants: GrantEntry[] = book.grants;
  const revocation: ConsentRevocation = { grantId, patient, deadline: 1_800_000_000 };
  await relayConsent(provider, { context, from: hospitalA, statement: revocation, signature: await signConsent(provider, domain, revocation) });
  // Without a wallet: the digest for a key or an HSM, or a key held here.
  const digest: Hex = consentSigningDigest(domain, revocation);
  const patientKey = localSigner(new Uint8Array(32).fill(0x5d));
  const signedHere: Hex = patientKey.signConsent(domain, revocation);
  patientKey.free();
  try {
    await shareRecord(provider, { context, envelope, recipient: hospitalB, authority: "emergency", publicKey, handshaker: hs });
  } catch (e) {
    if (isEhrchainError(e) && e.code === "EHR_CONSENT_NO_EMERGENCY_ROLE") return "refused";
  }
  return `${typed.primaryType} ${checkedAt.number} ${tx.calldata} ${receipt.blockNumber} ${received.record.length} ${evidence.tiId} ${first?.recipient} ${grants.length} ${grants[0]?.revokedIn} ${digest} ${signedHere}`;
}

/** The patient's records found from their account, typed: the pseudonyms, then each record's template, time and role. */
export async function patientRecordsExample(consent: Hex, patient: Hex): Promise<string[]> {
  const query: PatientRecordsQuery = { registry: config.registry, consent, patient };
  const found: PatientRecords = await patientRecords(provider, query, { fromBlock: 0 });
  const lines = found.records.map((r: PatientRecord) => `${r.templateId} ${new Date(r.timestamp).toISOString()} ${r.roleName ?? r.role}`);
  return [...found.pseudonyms, ...lines];
}

/** Keys behind the host's callbacks (an HSM, a KMS), a key held here signing, proofs checked in bulk. */
export async function keyStoreExample(
  templates: Templates, hsm: { fetch(id: string): Uint8Array | null }, proofs: ProofInput[], envelope: Uint8Array,
): Promise<string> {
  const store: KeyStore = {
    masterKey: (keyId: string) => hsm.fetch(keyId),
    recipientKey: (keyId: Hex, suite: CapsuleSuite) => hsm.fetch(`${suite}/${keyId}`),
  };
  const hs = new Handshaker({ chainId: 1337, registry: config.registry, sealingKeyId: "k", pseudonymKeyId: "p" }, store, templates);
  const sealed: Uint8Array = sealEnvelope({ keyId: "k", patient: config.tiId, templateId: config.templateId, tiId: config.tiId }, store, new Uint8Array(3));
  const opened: Uint8Array = openEnvelope(sealed, store);
  const recipients: RecipientKeyStore = { recipientKey: (keyId) => hsm.fetch(keyId) };
  const capsule = KeyCapsule.parse(envelope);
  const recordKey: Uint8Array = capsule.open(capsule.binding, recipients);
  const alsoKey: Uint8Array = capsule.open(capsule.binding, new Uint8Array(32));
  const signer: Signer = localSigner(new Uint8Array(32).fill(0x11));
  const author: string = signer.address;
  const key = localSigner("0x1111111111111111111111111111111111111111111111111111111111111111");
  const tc = hs.generate({ tiId: config.tiId, templateId: config.templateId, authorId: "dr", authorRole: "doctor", timestamp: 1, fields: {} });
  const request: SigningRequest = tc.signingRequest(key.address);
  const signature: Hex = key.sign(request);
  const same: boolean = key.signDigest(request.digest) === signature;
  key.free();
  const codes: (ErrorCode | null)[] = verifyProofs(proofs);
  const failed: ErrorCode[] = codes.filter((c): c is ErrorCode => c !== null);
  return `${hs.pseudonym("x")} ${opened.length} ${recordKey.length} ${alsoKey.length} ${author} ${same} ${failed.join()}`;
}

function isResumeError(e: unknown): e is ResumeError {
  return isEhrchainError(e) && "acks" in e;
}

/** At start-up: every TI the host's outbox (a database table keyed by plain strings) still holds, run to its ACK. */
export async function resumeExample(
  transport: Eip1193Transport, table: Map<string, string>, stored: (acks: Ack[]) => Promise<void>,
): Promise<string> {
  const outbox: ResumableOutbox = {
    keys: () => table.keys(),
    load: (key: string) => table.get(key),
    save: (key, entry: ValidatorEntry) => { table.set(key, JSON.stringify(entry)); },
    finish: async (key, acks) => {
      await stored(acks);
      if (key !== undefined) table.delete(key);
    },
  };
  try {
    const report: ResumeReport = await resumeAll(transport, outbox, { deadline: Date.now() + 60_000, signal: AbortSignal.timeout(90_000) });
    return `${report.acks.map((ack) => ack.status).join()} ${report.stopped ?? "done"}`;
  } catch (e) {
    if (isResumeError(e) && e.code === "EHR_OUTBOX_ENTRY_INVALID") return `${e.key} is damaged; ${e.acks.length} resumed before it`;
    throw e;
  }
}
