// The ehrchain portal: pick a role, fill in that role's forms (drawn from the
// templates), submit through the user's wallet (window.ethereum), or sign
// each entry in the wallet and have the hospital's gateway relay it, watch
// each entry go to its ACK (with who signed it), and verify a record's
// inclusion proof.
//
// Query parameters: registry (the EhrRegistry address), chainId (default
// 1337), confirmations (default 2).
import * as ehr from "../../ehrchain-wasm/pkg/web.js";
import { openOutbox } from "./outbox.js";

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
// The write-ahead outbox (IndexedDB): TCs sent but not yet acknowledged.
const outbox = await openOutbox();

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
        chainId, registry, sealingKeyId: "records", pseudonymKeyId: "pseudonyms",
        validator: { confirmations: Number(params.get("confirmations") ?? 2), pollIntervalMs: 500 },
      },
      KEYS,
      templates,
    );
    session?.hs.free();
    session = { hs, transport, account, chainId, relay: relayTransport(chainId, registry, account) };
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

/** Runs each TC the outbox still holds (a reload, a crash) to its ACK. */
async function resumePending() {
  for (const entry of await outbox.pending()) {
    const validator = ehr.Validator.fromJSON(entry);
    const tiId = validator.outboxKey;
    const badge = element("span", { class: "badge", text: "resumed" });
    const item = element("li", { "data-ti": tiId, "data-resumed": "true" },
      element("div", {}, badge, " ", element("strong", { text: "Resumed entry" }), " ", element("span", { class: "hash", text: short(tiId) })));
    $("acks").prepend(item);
    try {
      const [ack] = await ehr.runValidator(validator, session.transport, { outbox });
      finish(item, badge, ack);
    } finally {
      validator.free();
    }
  }
}

async function submitEntry(form, f) {
  const list = $("acks");
  const ti = {
    tiId: hex(random(32)),
    templateId: form.templateId,
    authorId: f.elements.namedItem("__author").value.trim(),
    authorRole: role,
    timestamp: Math.floor(Date.now() / 1000),
    fields: readFields(form, f),
  };
  if (form.patient) ti.patientId = f.elements.namedItem("__patient").value.trim();
  const badge = element("span", { class: "badge", text: "generated" });
  const steps = element("div", { class: "steps", text: "generated" });
  const item = element("li", { "data-ti": ti.tiId, "data-template": form.name, "data-role": role },
    element("div", {}, badge, " ", element("strong", { text: form.title }), ` by ${role} `, element("span", { class: "hash", text: short(ti.tiId) })),
    steps);
  list.prepend(item);
  if (!session) {
    finish(item, badge, { status: "invalid", reason: { kind: "transport_rejected", error: { error: "rejected", detail: "not connected: connect a wallet first" } } });
    return;
  }
  const seen = ["generated"];
  const signer = authorSigner();
  try {
    // Signed: the wallet shows the statement and signs it, the gateway sends.
    const ack = await ehr.submitTi(session.hs, ti, signer ? session.relay : session.transport, {
      outbox,
      signer,
      onState: (state) => {
        if (seen.at(-1) !== state.state) seen.push(state.state);
        steps.textContent = seen.join(" → ");
        badge.textContent = state.state;
      },
    });
    finish(item, badge, ack);
  } catch (e) {
    finish(item, badge, { status: "invalid", reason: { kind: "generation", message: `${e.code ?? "Error"}: ${e.message}` } });
  }
}

function finish(item, badge, ack) {
  const status = ack.status;
  item.classList.add(status);
  item.dataset.status = status;
  badge.className = `badge ${status}`;
  badge.textContent = status;
  if (status === "valid") {
    item.append(element("div", { class: "hash", text: `record ${short(ack.recordHash)} · tx ${short(ack.txHash)} · block ${ack.blockNumber}${ack.replay ? " · already anchored (replay)" : ""}` }));
  } else {
    item.append(element("div", { class: "reason", text: describe(ack.reason) }));
  }
  showAuthor(item, ack);
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
  const { author, role: roleId } = ack.authorship.statement;
  const roleName = ["doctor", "nurse", "pathologist"].find((r) => ehr.roleId(r) === roleId) ?? short(roleId);
  item.dataset.author = author;
  item.append(element("div", { class: "author", text: `signed by ${author} as ${roleName}` }));
}

async function verifyProof() {
  const out = $("proof-result");
  const text = $("proof-text").value.trim();
  try {
    const proof = ehr.verifyProof(text);
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
    out.replaceChildren(element("p", { class: "bad", "data-result": "invalid", text: `Invalid proof: ${e.message}${e.code ? ` (${e.code})` : ""}` }));
  }
}

async function scan() {
  const video = $("camera");
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  try {
    for (;;) {
      const [code] = await detector.detect(video);
      if (code?.rawValue?.startsWith("EHRP:")) {
        $("proof-text").value = code.rawValue;
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    for (const track of stream.getTracks()) track.stop();
    video.hidden = true;
  }
  await verifyProof();
}

$("connect").addEventListener("click", connect);
$("verify").addEventListener("click", verifyProof);
for (const b of document.querySelectorAll("#roles button")) b.addEventListener("click", () => pickRole(b.dataset.role));
if ("BarcodeDetector" in window && navigator.mediaDevices) {
  $("scan").hidden = false;
  $("scan").addEventListener("click", () => scan().catch((e) => { $("proof-result").textContent = `Cannot scan: ${e.message}`; }));
}
document.body.dataset.ready = "true";
if (params.get("registry") && window.ethereum) connect();
