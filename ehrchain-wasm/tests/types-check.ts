// Type-checked (tsc --strict --noEmit, tests/types.test.mjs) against the
// built package's .d.ts: a host program using the API the way the README and
// the portal do. A type that drifts from the runtime shapes fails here.
import {
  Eip1193Transport, Handshaker, InclusionProof, Templates, runValidator, submitTi, verifyProofAnchored,
  type Ack, type ChainTransaction, type EhrchainError, type Form, type Hex, type InitialTransaction, type ProofJson,
  type Transmit,
} from "../pkg/index.js";

declare const provider: { request(args: { method: string; params?: unknown[] }): Promise<unknown> };

export async function example(registry: Hex): Promise<string> {
  const templates: Templates = Templates.builtIn();
  const forms: Form[] = templates.formsFor("doctor");
  const form = forms[0];
  const fieldNames: string[] = form.fields.map((f) => `${f.name}:${f.type ?? "system"}:${f.required ?? false}`);
  const hs = new Handshaker({ chainId: 1337, registry, sealingKeyId: "k", pseudonymKeyId: "p", validator: { confirmations: 1 } },
    { k: new Uint8Array(32), p: "0x00" }, templates);
  const ti: InitialTransaction = {
    ti_id: "0x01", template_id: form.template_id, author_id: "dr", author_role: "doctor", timestamp: 1, fields: { systolic: 120 },
  };
  const tc = hs.generate(ti);
  const viaWebCrypto: ChainTransaction = await hs.generateAsync(ti, 1);
  const sealedHere: Uint8Array = hs.prepare(ti).header();
  const calldata: Hex = tc.calldata;
  const bytes: Uint8Array = tc.envelope;
  const transport = new Eip1193Transport(provider, { chainId: 1337, registry, senders: { doctor: "0x02" } });
  const ack: Ack = await submitTi(hs, ti, transport, { onWebCryptoFallback: (e) => console.warn(e.code, e.message) });
  let summary: string;
  if (ack.status.status === "valid") {
    summary = `${ack.status.tx_hash ?? "recovered"} ${ack.status.replay}`;
    const proof: ProofJson | null = ack.status.batch;
    if (proof) verifyProofAnchored(proof, { root: proof.root, leaf_count: proof.leaf_count });
  } else {
    const reason = ack.status.reason;
    summary = reason.reason === "contract_revert" ? reason.revert.error ?? reason.revert.detail
      : reason.reason === "template_violations" ? reason.violations.map((v) => v.message).join()
      : reason.reason;
  }
  const v = tc.validator({ poll_interval_ms: 10 });
  const next: Transmit | undefined = v.pollTransmit(Date.now());
  if (next?.kind === "poll") summary += next.tx_hash;
  const [first]: Ack[] = await runValidator(v, transport);
  const text: string = InclusionProof.parse(new Uint8Array()).toText();
  try {
    hs.generate("{}", 1);
  } catch (e) {
    const error = e as EhrchainError;
    summary += error.code + (error.violations?.length ?? 0);
  }
  return `${summary} ${calldata} ${bytes.length} ${fieldNames} ${first.ti_id} ${text} ${viaWebCrypto.recordHash} ${sealedHere.length}`;
}
