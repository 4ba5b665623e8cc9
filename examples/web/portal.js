// The ehrchain portal: pick a role, fill in that role's forms (drawn from the
// templates), or paste or drop a FHIR resource or Bundle; submit through the
// user's wallet (window.ethereum), or sign each entry in the wallet and have
// the hospital's gateway relay it; watch each entry go to its ACK (with who
// signed it), or collect entries in a batch the gateway anchors under one
// Merkle root, each record's proof shown as a QR code image; and verify a
// proof read from a QR code (an image file, the camera) or pasted as text;
// share a record with consent: the patient grants and revokes in the wallet
// and sees their records (found from the wallet's account) and the
// disclosures, the hospital shares a record while the grant
// holds, the recipient opens it and sees its evidence (docs/consent.md).
//
// Query parameters: registry (the EhrRegistry address), chainId (default
// 1337), confirmations (default 2).
import * as ehr from "../../ehrchain-wasm/pkg/web.js";
import { openOutbox } from "./outbox.js";
import { qrCanvas, readQrFile, scanCamera } from "./qr.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const templates = ehr.Templates.builtIn();

const hex = (bytes) => `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
const random = (n) => crypto.getRandomValues(new Uint8Array(n));
const short = (h) => (h ? `${h.slice(0, 10)}…${h.slice(-6)}` : "");

// Demo keys for this session (a real portal gets them from the key service).
const KEYS = { records: random(32), pseudonyms: random(32) };

let session = null;
let role = null;
// Batch mode: the entries generated for the next batch, with where their ACKs go.
let queued = [];
// The camera scan under way (its AbortController), if any.
let scanning = null;
// The write-ahead outbox (IndexedDB): TCs sent but not yet acknowledged.
const outbox = await openOutbox();

const VALIDATOR = { confirmations: Number(params.get("confirmations") ?? 2), pollIntervalMs: 500 };

$("registry").value = params.get("registry") ?? "";
$("chain-id").value = params.get("chainId") ?? "1337";
$("wallet").textContent = window.ethereum
  ? "A wallet is available. Enter the registry address and connect."
  : "No wallet found (window.ethereum): install MetaMask or another Ethereum wallet to submit records.";

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children);
  return node;
}

async function connect() {
  const wallet = $("wallet");
  if (!window.ethereum) return;
  const registry = $("registry").value.trim();
  const chainId = Number($("chain-id").value);
  try {
    const transport = new ehr.Eip1193Transport(window.ethereum, { chainId, registry });
    await transport.checkChain();
    const [account] = await transport.accounts();
    transport.from = account;
    const hs = new ehr.Handshaker(
      {
        chainId, registry, sealingKeyId: "records", pseudonymKeyId: "pseudonyms", validator: VALIDATOR,
      },
      KEYS,
      templates,
    );
    session?.hs.free();
    session = { hs, transport, account, chainId, registry, relay: relayTransport(chainId, registry, account) };
    wallet.textContent = `Connected: account ${account} on chain ${chainId}.`;
    await resumePending();
    wallet.dataset.connected = "true";
    renderForms();
  } catch (e) {
    wallet.textContent = `Cannot connect: ${e.message}${e.code ? ` (${e.code})` : ""}`;
  }
}

function pickRole(name) {
  role = name;
  for (const b of document.querySelectorAll("#roles button")) {
    b.setAttribute("aria-checked", String(b.dataset.role === name));
    b.setAttribute("role", "radio");
  }
  renderForms();
}

function renderForms(selected) {
  const box = $("forms");
  box.replaceChildren();
  if (!role) return;
  const forms = templates.formsFor(role);
  if (forms.length === 0) {
    box.append(element("p", { class: "muted", text: `There are no forms for the ${role} role: administrators manage templates and roles; they do not enter records. Templates in use:` }));
    box.append(element("ul", {}, ...templates.list().map((t) =>
      element("li", { text: `${t.title} (${t.name} v${t.version}) — roles: ${t.roles.join(", ")}` }))));
    return;
  }
  const current = forms.find((f) => f.name === selected) ?? forms[0];
  const tabs = element("div", { class: "forms-tabs", role: "tablist" });
  for (const form of forms) {
    const tab = element("button", { type: "button", role: "tab", "aria-selected": String(form === current), "data-form": form.name, text: form.title });
    tab.addEventListener("click", () => renderForms(form.name));
    tabs.append(tab);
  }
  box.append(tabs, drawForm(current));
}

function fieldInput(field) {
  const id = `f-${field.name}`;
  let input;
  switch (field.type) {
    case "integer":
      input = element("input", { id, type: "number", step: 1, min: field.min, max: field.max, required: field.required });
      break;
    case "decimal":
      input = element("input", { id, inputmode: "decimal", required: field.required });
      break;
    case "bool":
      input = element("input", { id, type: "checkbox" });
      break;
    case "enum":
      input = element("select", { id, required: field.required },
        element("option", { value: "", text: field.required ? "choose…" : "—" }),
        ...field.values.map((v) => element("option", { value: v, text: v })));
      break;
    case "date-time":
      input = element("input", { id, type: "datetime-local", step: 1, required: field.required });
      break;
    default:
      input = element("input", { id, type: "text", maxlength: field.maxLength, required: field.required });
  }
  input.name = field.name;
  input.dataset.type = field.type;
  const label = element("label", { for: id },
    element("span", { class: field.required ? "req" : undefined, text: `${field.label ?? field.name}${field.unit ? ` (${field.unit})` : ""}` }),
    input);
  if (field.hint) label.append(element("span", { class: "hint", text: field.hint }));
  return label;
}

function drawForm(form) {
  const f = element("form", { class: "entry", "data-template": form.name });
  f.append(element("label", {}, element("span", { class: "req", text: "Your staff id" }),
    element("input", { name: "__author", value: `${role}-demo`, required: true })));
  if (form.patient) {
    f.append(element("label", {}, element("span", { class: "req", text: "Patient id" }),
      element("input", { name: "__patient", placeholder: "MRN-…", required: true })));
  }
  for (const field of form.fields) f.append(fieldInput(field));
  const submit = element("button", { type: "submit", text: `Submit ${form.title.toLowerCase()}` });
  f.append(element("div", { class: "actions" }, submit));
  f.addEventListener("submit", (event) => {
    event.preventDefault();
    submitEntry(form, f);
  });
  return f;
}

function readFields(form, f) {
  const fields = {};
  for (const field of form.fields) {
    const input = f.elements.namedItem(field.name);
    if (field.type === "bool") {
      fields[field.name] = input.checked;
      continue;
    }
    const raw = input.value.trim();
    if (raw === "") continue;
    if (field.type === "integer") fields[field.name] = Number(raw);
    else if (field.type === "date-time") fields[field.name] = new Date(raw).toISOString().replace(/\.\d{3}Z$/, "Z");
    else fields[field.name] = raw;
  }
  return fields;
}

function describe(reason) {
  switch (reason.kind) {
    case "template_violations":
      return `the entry breaks its template: ${reason.violations.map((v) => v.message).join("; ")}`;
    case "contract_revert":
      if (reason.revert.error === "AccessControlUnauthorizedAccount") {
        return `the registry refused it: your account does not hold the ${role} role on chain (${reason.revert.detail})`;
      }
      return `the registry refused it: ${reason.revert.detail}`;
    case "generation":
      return reason.message;
    case "authorship":
      return `not sent: the signature was refused (${reason.code}): ${reason.message}`;
    case "not_anchored":
      return `not anchored (${describe(reason.cause)})`;
    case "transport_rejected":
      return typeof reason.error.detail === "string" ? reason.error.detail : JSON.stringify(reason.error.detail);
    default:
      return JSON.stringify(reason);
  }
}

/**
 * Runs each TC the outbox still holds (a reload, a crash) to its ACKs; a
 * batch goes on through the gateway that anchors it, each record's ACK
 * (with its proof) shown apart.
 */
async function resumePending() {
  for (const entry of await outbox.pending()) {
    const validator = ehr.Validator.fromJSON(entry);
    const batch = validator.submission?.anchoring.kind === "batch";
    const shown = resumedItem(validator.outboxKey, batch ? "Resumed batch" : "Resumed entry");
    try {
      const acks = await ehr.runValidator(validator, batch ? session.relay : session.transport, { outbox });
      acks.forEach((ack, i) => {
        const { item, badge } = i === 0 ? shown : resumedItem(ack.tiId, "Resumed entry");
        item.dataset.ti = ack.tiId;
        finish(item, badge, ack);
      });
    } finally {
      validator.free();
    }
  }
}

/** A list item for a resumed entry under `key` (its TI id, or a batch's root). */
function resumedItem(key, title) {
  const badge = element("span", { class: "badge", text: "resumed" });
  const item = element("li", { "data-ti": key, "data-resumed": "true" },
    element("div", {}, badge, " ", element("strong", { text: title }), " ", element("span", { class: "hash", text: short(key) })));
  $("acks").prepend(item);
  return { item, badge };
}

async function submitEntry(form, f) {
  const ti = {
    tiId: hex(random(32)),
    templateId: form.templateId,
    authorId: f.elements.namedItem("__author").value.trim(),
    authorRole: role,
    timestamp: Math.floor(Date.now() / 1000),
    fields: readFields(form, f),
  };
  if (form.patient) ti.patientId = f.elements.namedItem("__patient").value.trim();
  await submitTi(form, ti);
}

/**
 * Runs `ti` to its ACK through the wallet (in batch mode: queues it for the
 * batch), shown in the ACK list under `form`'s title (a form's, or the
 * template a FHIR resource mapped to). `onAck(item, ack)` runs once the
 * validator gave the ACK. Returns the list item.
 */
async function submitTi(form, ti, onAck) {
  const list = $("acks");
  const badge = element("span", { class: "badge", text: "generated" });
  const steps = element("div", { class: "steps", text: "generated" });
  const item = element("li", { "data-ti": ti.tiId, "data-template": form.name, "data-role": ti.authorRole },
    element("div", {}, badge, " ", element("strong", { text: form.title }), ` by ${ti.authorRole} `, element("span", { class: "hash", text: short(ti.tiId) })),
    steps);
  list.prepend(item);
  if (!session) {
    finish(item, badge, { status: "invalid", reason: { kind: "transport_rejected", error: { error: "rejected", detail: "not connected: connect a wallet first" } } });
    return item;
  }
  const show = (ack) => {
    finish(item, badge, ack);
    onAck?.(item, ack);
  };
  if ($("batch").checked) {
    await queue(ti, { item, badge, steps, show });
    return item;
  }
  const signer = authorSigner();
  try {
    // Signed: the wallet shows the statement and signs it, the gateway sends.
    const ack = await ehr.submitTi(session.hs, ti, signer ? session.relay : session.transport, {
      outbox,
      signer,
      onState: progress("generated", [{ steps, badge }]),
    });
    show(ack);
  } catch (e) {
    finish(item, badge, failedAck(e));
  }
  return item;
}

/** An `onState` that shows the states so far, from `first`, on each of `shown`'s steps and badge. */
function progress(first, shown) {
  const seen = [first];
  return (state) => {
    if (seen.at(-1) !== state.state) seen.push(state.state);
    for (const { steps, badge } of shown) {
      steps.textContent = seen.join(" → ");
      badge.textContent = state.state;
    }
  };
}

/** The invalid ACK shown for a TI whose TC could not be made or sent. */
function failedAck(e) {
  return { status: "invalid", reason: { kind: "generation", message: `${e.code ?? "Error"}: ${e.message}` } };
}

function finish(item, badge, ack) {
  const status = ack.status;
  item.classList.add(status);
  item.dataset.status = status;
  badge.className = `badge ${status}`;
  badge.textContent = status;
  if (status === "valid") {
    item.dataset.record = ack.recordHash;
    item.append(element("div", { class: "hash", text: `record ${short(ack.recordHash)} · tx ${short(ack.txHash)} · block ${ack.blockNumber}${ack.replay ? " · already anchored (replay)" : ""}` }));
    if (ack.batch) showProof(item, ack.batch);
    else shareable(ack);
  } else {
    item.append(element("div", { class: "reason", text: describe(ack.reason) }));
  }
  showAuthor(item, ack);
}

// ---- Batches (docs/proofs.md): entries collected here are anchored under one
// Merkle root by the gateway's account (it needs the registry's
// HANDSHAKER_ROLE); each record's ACK carries its inclusion proof, shown as a
// QR code image to download and print.

/** Generates `ti`'s TC and queues it for the next batch; a TI it refuses gets its invalid ACK now. */
async function queue(ti, entry) {
  let tc;
  try {
    tc = await session.hs.generateAsync(ti, Date.now());
  } catch (e) {
    finish(entry.item, entry.badge, failedAck(e));
    return;
  }
  queued.push({ ...entry, tc });
  entry.badge.textContent = entry.steps.textContent = "queued";
  showQueued();
}

/** Shows how many entries wait for the batch on its button. */
function showQueued() {
  const button = $("anchor-batch");
  button.disabled = queued.length === 0;
  button.textContent = queued.length === 0 ? "Anchor the batch" : `Anchor the batch (${queued.length} record${queued.length === 1 ? "" : "s"})`;
}

/** Anchors the queued entries as one batch through the gateway; shows each ACK with its proof. */
async function anchorBatch() {
  const entries = queued;
  queued = [];
  showQueued();
  const builder = new ehr.BatchBuilder();
  const tiIds = entries.map(({ tc }) => {
    builder.add(tc);
    const { tiId } = tc;
    tc.free();
    return tiId;
  });
  const batch = builder.build(hex(random(32)));
  const validator = batch.validator(session.registry, session.chainId, VALIDATOR);
  batch.free();
  try {
    const acks = await ehr.runValidator(validator, session.relay, { outbox, onState: progress("queued", entries) });
    const byTi = new Map(acks.map((ack) => [ack.tiId, ack]));
    entries.forEach(({ show }, i) => show(byTi.get(tiIds[i])));
  } catch (e) {
    for (const { item, badge } of entries) finish(item, badge, failedAck(e));
  } finally {
    validator.free();
  }
}

/** Under a batched record's ACK: its proof as a QR code, to download as PNG. */
function showProof(item, proofJson) {
  const proof = ehr.InclusionProof.parse(proofJson);
  let text;
  try {
    text = proof.toText();
  } finally {
    proof.free();
  }
  const canvas = qrCanvas(text);
  const download = element("a", { href: canvas.toDataURL("image/png"), download: `ehrchain-proof-${item.dataset.ti.slice(2, 14)}.png`, text: "Download the QR code (PNG)" });
  item.append(element("figure", { class: "proof-qr", "data-proof": text },
    canvas,
    element("figcaption", {},
      `Proof: record ${proofJson.index + 1} of ${proofJson.leafCount} under root ${short(proofJson.root)}. `, download)));
}

// ---- Signed entries (docs/authorship.md): the author signs, a gateway relays.

/** The wallet's signer of the connected account when "sign" is ticked. */
function authorSigner() {
  return session && $("sign").checked ? ehr.eip1193Signer(window.ethereum, session.account) : undefined;
}

/** The transport signed entries go through: the gateway's account (it holds RELAYER_ROLE), else the wallet's. */
function relayTransport(chainId, registry, account) {
  const relayer = $("relayer").value.trim() || account;
  return new ehr.Eip1193Transport(window.ethereum, { chainId, registry, from: relayer });
}

/** Shows who signed an ACK's entry, in which role. */
function showAuthor(item, ack) {
  if (!ack.authorship) return;
  const { author, role } = ack.authorship.statement;
  item.dataset.author = author;
  item.append(element("div", { class: "author", text: `signed by ${author} as ${roleNameOf(role)}` }));
}

/** The name of a role id among the authors' roles, or the shortened id. */
function roleNameOf(roleId) {
  return ["doctor", "nurse", "pathologist"].find((r) => ehr.roleId(r) === roleId) ?? short(roleId);
}

// FHIR in: a pasted or dropped FHIR R4 resource or Bundle becomes the TIs
// its templates' mappings make (docs/fhir.md), each submitted as a form's
// would be; the entries that give none are listed with the reason and the
// path of every problem. Under a valid ACK, its FHIR Provenance (an invalid
// one: its AuditEvent), for the EHR to store beside the resource.

// Derived TI ids are keyed with this salt (a real portal uses the hospital's,
// kept stable): the same resource sent twice in this session anchors once.
const FHIR_SALT = hex(random(32));

/** The resource or Bundle in the FHIR box, mapped: `{mapped, unmapped}`. */
function mapFhir(text, options) {
  // The JSON text, not a parsed object, goes to ehrchain: a decimal keeps its
  // exact digits (5.40 stays 5.40).
  if (JSON.parse(text)?.resourceType === "Bundle") return ehr.fhirMapBundle(templates, text, options);
  return { mapped: [ehr.fhirMapResource(templates, text, options)], unmapped: [] };
}

function unmappedItem(entry) {
  const where = [entry.resourceType, entry.fullUrl].filter(Boolean).join(" ");
  return element("li", { "data-index": entry.index, "data-code": entry.code },
    element("strong", { text: `Entry ${entry.index + 1}${where ? ` (${where})` : ""}: ${entry.code}` }),
    element("div", { class: "reason", text: entry.reason }),
    element("ul", {}, ...(entry.problems ?? []).map((p) =>
      element("li", { "data-path": p.path, "data-problem": p.kind.problem },
        element("code", { text: p.path }), ` ${p.field ? `(field ${p.field}) ` : ""}${p.kind.problem}`))));
}

async function submitFhir() {
  const out = $("fhir-result");
  const options = { patientIdentifierSystem: $("fhir-mrn-system").value.trim(), tiIdSalt: FHIR_SALT };
  let mapping;
  try {
    mapping = mapFhir($("fhir-text").value, options);
  } catch (e) {
    out.replaceChildren(element("p", { class: "bad", "data-result": "refused", text: `Not submitted: ${e.message}${e.code ? ` (${e.code})` : ""}` }));
    return;
  }
  const { mapped, unmapped } = mapping;
  out.replaceChildren(
    element("p", { "data-mapped": mapped.length, "data-unmapped": unmapped.length,
      text: `${mapped.length} TI(s) to submit; ${unmapped.length} entr${unmapped.length === 1 ? "y gives" : "ies give"} none${unmapped.length ? ":" : "."}` }),
    element("ul", { class: "fhir-unmapped" }, ...unmapped.map(unmappedItem)));
  const titles = new Map(templates.list().map((t) => [t.id, t]));
  for (const entry of mapped) {
    const template = titles.get(entry.ti.templateId);
    const form = { title: `${template?.title ?? "Record"} (FHIR ${entry.source.resourceType})`, name: template?.name };
    const item = await submitTi(form, entry.ti, (done, ack) => showFhirOut(done, ack, entry));
    item.dataset.fhir = entry.source.reference;
  }
}

/** Under an ACK of a FHIR resource, its Provenance (valid) or AuditEvent (invalid). */
function showFhirOut(item, ack, entry) {
  const context = { chainId: session.chainId, registry: session.registry };
  const resource = ehr.fhirFromAck(ack, entry, context, Date.now());
  item.append(element("details", { class: "fhir-out", "data-resource-type": resource.resourceType },
    element("summary", { text: `FHIR ${resource.resourceType}` }),
    element("pre", { text: JSON.stringify(resource, null, 2) })));
}

async function dropFhir(event) {
  event.preventDefault();
  const [file] = event.dataTransfer?.files ?? [];
  if (file) $("fhir-text").value = await file.text();
}

/**
 * A signed record's proof (version 2, docs/authorship.md): checked offline
 * (the author's signature of the statement, and its leaf leading to the
 * root); the message names the author, the role and the chain and registry
 * it was signed for. Its anchor and the author's role at that time are
 * checked against that registry with `SignedRecordProof.verifyAnchored`.
 */
function verifySigned(text) {
  const proof = ehr.SignedRecordProof.parse(text);
  try {
    proof.verify();
    const { domain, index, leafCount, root } = proof.toJSON();
    return `Valid signed proof: record ${short(proof.recordHash)}, signed by ${proof.author} as ${roleNameOf(proof.role)}, `
      + `is record ${index + 1} of ${leafCount} under root ${short(root)} (signed for registry ${domain.registry} on chain ${domain.chainId}; `
      + "checked offline: the signature and the root).";
  } finally {
    proof.free();
  }
}

async function verifyProof() {
  const out = $("proof-result");
  const text = $("proof-text").value.trim();
  try {
    let proof;
    try {
      proof = ehr.verifyProof(text);
    } catch (e) {
      // A version 2 proof: a signed record's.
      if (e.code !== "EHR_PROOF_UNSUPPORTED") throw e;
      out.replaceChildren(element("p", { class: "ok", "data-result": "valid", "data-version": "2", text: verifySigned(text) }));
      return;
    }
    let message = `Valid proof: record ${short(proof.recordHash)} is record ${proof.index + 1} of ${proof.leafCount} under root ${short(proof.root)}.`;
    if (session) {
      const anchored = await session.transport.anchoredBatch(proof.root);
      ehr.verifyProofAnchored(text, anchored);
      const evm = await session.transport.verifyOnChainDetailed(text);
      if (!evm.verified) throw evm.error;
      message += ` Anchored on chain ${session.chainId} (${anchored.leafCount} records); the registry's verifyRecord confirms it.`;
    } else {
      message += " Connect to check it against the chain.";
    }
    out.replaceChildren(element("p", { class: "ok", "data-result": "valid", text: message }));
  } catch (e) {
    out.replaceChildren(element("p", { class: "bad", "data-result": "invalid", "data-code": e.code, "data-reason": e.reason,
      text: `Invalid proof: ${e.message}${e.code ? ` (${e.code})` : ""}` }));
  }
}

/** Reads the proof QR code in an image file and verifies it. */
async function verifyImage(file) {
  const text = await readQrFile(file).catch(() => undefined);
  if (text === undefined) {
    $("proof-result").replaceChildren(element("p", { class: "bad", "data-result": "invalid", "data-reason": "no_qr_code",
      text: `Invalid proof: no QR code found in ${file.name}. Take the photo closer, straight on, with the whole code in the picture.` }));
    return;
  }
  $("proof-text").value = text;
  await verifyProof();
}

/** Starts the camera until it sees a proof's QR code, then verifies it; stops it when scanning. */
async function scan() {
  if (scanning) {
    scanning.abort();
    return;
  }
  scanning = new AbortController();
  $("scan").textContent = "Stop the camera";
  try {
    const text = await scanCamera($("camera"), "EHRP:", scanning.signal);
    if (text !== undefined) {
      $("proof-text").value = text;
      await verifyProof();
    }
  } catch (e) {
    $("proof-result").replaceChildren(element("p", { class: "bad", text: `Cannot use the camera: ${e.message}` }));
  } finally {
    scanning = null;
    $("scan").textContent = "Scan with the camera";
  }
}

/** Verifies the proof QR code in an image dropped on the proof card. */
async function dropImage(event) {
  event.preventDefault();
  const [file] = event.dataTransfer?.files ?? [];
  if (file) await verifyImage(file);
}

// ---- Sharing with consent (docs/consent.md). The wallet's account plays each
// party in turn: the patient (bound to the pseudonym by the hospital) signs
// grants and revocations, the gateway relays them; the hospital (a custodian)
// shares records it anchored here; the recipient opens them with its key.

/** Records anchored here one at a time (a TI id anchor), by record hash: their envelopes. */
const envelopes = new Map();

const bytesOf = (text) => Uint8Array.from(text.trim().replace(/^0x/, "").match(/../g) ?? [], (b) => parseInt(b, 16));

/** Offers a valid ACK's record for sharing. */
function shareable(ack) {
  envelopes.set(ack.recordHash, ack.envelope);
  $("share-record").prepend(element("option", { value: ack.recordHash, text: `${short(ack.recordHash)} (${ack.tiId.slice(0, 10)}…)` }));
  $("share-record").value = ack.recordHash;
}

/** Where consent lives, from the connection and the EhrConsent field. */
function sharingContext() {
  if (!session) throw new Error("not connected: connect a wallet first");
  return { chainId: session.chainId, registry: session.registry, consent: $("consent").value.trim() };
}

/** The pseudonym of the patient field's MRN (shown beside it). */
function subjectOf() {
  const subject = session.hs.pseudonym($("patient-id").value.trim());
  $("pseudonym").textContent = `pseudonym ${subject}`;
  $("pseudonym").dataset.subject = subject;
  return subject;
}

/** Shows `e` in `out` with its code. */
function sharingFailed(out, e) {
  out.replaceChildren(element("p", { class: "bad", "data-code": e.code ?? "Error", text: `${e.code ?? "Error"}: ${e.message}` }));
}

/** Signs `statement` in the wallet and has the gateway relay it. */
async function signAndRelay(statement) {
  const context = sharingContext();
  const signature = await ehr.signConsent(window.ethereum, { chainId: context.chainId, consent: context.consent }, statement);
  const from = $("relayer").value.trim() || session.account;
  return ehr.relayConsent(window.ethereum, { context, from, statement, signature });
}

async function grant() {
  const out = $("grant-result");
  try {
    const context = sharingContext();
    const now = Math.floor(Date.now() / 1000);
    const template = $("grant-template").value;
    const statement = {
      subject: subjectOf(), patient: session.account, recipient: $("grant-recipient").value.trim(),
      templateIds: template ? [template] : [], expiresAt: now + Number($("grant-days").value) * 86_400,
      nonce: now, deadline: now + 3_600,
    };
    const receipt = await signAndRelay(statement);
    const grantId = ehr.consentGrantId({ chainId: context.chainId, consent: context.consent }, statement);
    out.replaceChildren(element("p", { class: "ok", "data-grant": grantId, text: `Granted: ${grantId} (block ${receipt.blockNumber})` }));
    await history();
  } catch (e) {
    sharingFailed(out, e);
  }
}

async function revoke(grantId) {
  const out = $("grant-result");
  try {
    const receipt = await signAndRelay({ grantId, patient: session.account, deadline: Math.floor(Date.now() / 1000) + 3_600 });
    out.replaceChildren(element("p", { class: "ok", "data-revoked": grantId, text: `Revoked: ${grantId} (block ${receipt.blockNumber})` }));
    await history();
  } catch (e) {
    sharingFailed(out, e);
  }
}

/**
 * The records of the pseudonyms the wallet's account is bound to (found from
 * the account alone): template, time, author role, record hash and TI id.
 * Records anchored in a batch are not listed: the chain does not link them
 * to a pseudonym.
 */
async function myRecords() {
  const { registry, consent } = sharingContext();
  const { pseudonyms, records } = await ehr.patientRecords(window.ethereum, { registry, consent, patient: session.account });
  $("my-pseudonyms").textContent = pseudonyms.length === 0
    ? `${session.account} is bound to no pseudonym on this EhrConsent: the hospital binds it.`
    : `${session.account} is bound to ${pseudonyms.map(short).join(", ")}: ${records.length} record${records.length === 1 ? "" : "s"} anchored one by one (batched records are not linked to a pseudonym on chain).`;
  const titles = new Map(templates.list().map((t) => [t.id, t.name]));
  $("my-records").replaceChildren(...records.map((r) => element("li", {
    "data-record": r.recordHash, "data-ti": r.tiId, "data-template": titles.get(r.templateId) ?? r.templateId, "data-role": r.roleName ?? r.role,
    text: `${titles.get(r.templateId) ?? short(r.templateId)}, ${new Date(r.timestamp).toISOString()}, by a ${r.roleName ?? `role ${short(r.role)}`}: record ${short(r.recordHash)} (TI ${short(r.tiId)}, block ${r.blockNumber})`,
  })));
}

/** The patient's records, then the accounting: every grant (revocable while it holds) and every disclosure. */
async function history() {
  try {
    await myRecords();
    const { consent } = sharingContext();
    const { disclosures, grants } = await ehr.accounting(window.ethereum, consent, subjectOf());
    $("grants").replaceChildren(...grants.map((g) => {
      const item = element("li", { "data-grant": g.grantId, "data-revoked": g.revokedIn ?? "", class: g.revokedIn === null ? "" : "revoked" },
        `grant ${short(g.grantId)} to ${g.recipient}, ${g.templateIds.length ? `${g.templateIds.length} template(s)` : "every template"}, until ${new Date(g.expiresAt).toISOString()}`);
      if (g.revokedIn === null) {
        const button = element("button", { type: "button", class: "revoke", text: "Revoke" });
        button.addEventListener("click", () => revoke(g.grantId));
        item.append(" ", button);
      } else {
        item.append(` (revoked in block ${g.revokedIn})`);
      }
      return item;
    }));
    $("disclosures").replaceChildren(...disclosures.map((d) => element("li", {
      "data-recipient": d.recipient, "data-record": d.recordHash, "data-authority": d.authority === "emergency" ? "emergency" : d.authority.grant,
      text: `record ${short(d.recordHash)} given to ${d.recipient} by ${d.custodian} in block ${d.blockNumber}${d.authority === "emergency" ? " (emergency)" : ` under grant ${short(d.authority.grant)}`}`,
    })));
  } catch (e) {
    sharingFailed($("grant-result"), e);
  }
}

/** The hospital seals the record's key for the recipient (only while the grant holds) and records the disclosure. */
async function share() {
  const out = $("share-result");
  try {
    const context = sharingContext();
    const envelope = bytesOf(envelopes.get($("share-record").value) ?? "");
    const grantId = $("share-grant").value.trim();
    const made = await ehr.shareRecord(window.ethereum, {
      context, envelope, recipient: $("share-recipient").value.trim(), handshaker: session.hs,
      authority: grantId === "emergency" ? "emergency" : { grant: grantId }, publicKey: bytesOf($("share-key").value),
    });
    const receipt = await ehr.recordDisclosures(window.ethereum, { context, from: session.account, disclosures: [made.disclosure] });
    out.replaceChildren(element("p", { class: "ok", "data-digest": made.disclosure.capsuleDigest, text: `Shared, checked at block ${made.checkedAt.number}, recorded in block ${receipt.blockNumber}. Send the recipient the capsule and the envelope:` }),
      element("textarea", { id: "shared-capsule", rows: 2, readonly: true, text: hex(made.capsule) }),
      element("textarea", { id: "shared-envelope", rows: 2, readonly: true, text: hex(envelope) }));
  } catch (e) {
    sharingFailed(out, e);
  }
}

/** The recipient opens a shared record and shows it with its evidence. */
async function openShared() {
  const out = $("open-result");
  try {
    const { record, evidence } = await ehr.receiveRecord(window.ethereum, {
      context: sharingContext(), recipient: $("open-recipient").value.trim() || session.account,
      capsule: bytesOf($("open-capsule").value), envelope: bytesOf($("open-envelope").value), privateKey: bytesOf($("open-key").value),
    });
    const rows = [
      ["record hash", evidence.recordHash], ["anchored under TI", evidence.tiId], ["patient (pseudonym)", evidence.subject],
      ["template", evidence.templateId], ["authority", evidence.authority === "emergency" ? "emergency" : `grant ${evidence.authority.grant}`],
      ["capsule digest", evidence.capsuleDigest], ["checked at block", `${evidence.checkedAt.number} (${new Date(evidence.checkedAt.time).toISOString()})`],
    ];
    out.replaceChildren(
      element("p", { class: "ok", "data-result": "opened", "data-record": evidence.recordHash, "data-block": evidence.checkedAt.number, text: "Opened: anchored, and the grant holds." }),
      element("dl", { id: "evidence" }, ...rows.flatMap(([k, v]) => [element("dt", { text: k }), element("dd", { class: "hash", text: v })])),
      element("pre", { id: "shared-record", text: new TextDecoder().decode(record) }),
    );
  } catch (e) {
    sharingFailed(out, e);
  }
}

for (const t of templates.list()) $("grant-template").append(element("option", { value: t.id, text: t.name }));
$("grant").addEventListener("click", grant);
$("history").addEventListener("click", history);
$("share").addEventListener("click", share);
$("open-shared").addEventListener("click", openShared);
$("connect").addEventListener("click", connect);
$("verify").addEventListener("click", verifyProof);
$("fhir-submit").addEventListener("click", submitFhir);
$("fhir-card").addEventListener("dragover", (event) => event.preventDefault());
$("fhir-card").addEventListener("drop", dropFhir);
for (const b of document.querySelectorAll("#roles button")) b.addEventListener("click", () => pickRole(b.dataset.role));
$("batch").addEventListener("change", () => {
  $("sign").disabled = $("batch").checked;
  if ($("batch").checked) $("sign").checked = false;
});
$("anchor-batch").addEventListener("click", anchorBatch);
$("proof-image").addEventListener("change", (event) => {
  const [file] = event.target.files;
  if (file) verifyImage(file);
});
$("proof-card").addEventListener("dragover", (event) => event.preventDefault());
$("proof-card").addEventListener("drop", dropImage);
if (navigator.mediaDevices?.getUserMedia) {
  $("scan").hidden = false;
  $("scan").addEventListener("click", scan);
}
document.body.dataset.ready = "true";
if (params.get("registry") && window.ethereum) connect();
