// The web portal (examples/web/) in headless Chromium: serves the page and the
// built package on 127.0.0.1, injects an EIP-1193 provider backed by Ganache's
// browser build as window.ethereum (exposing one account, as MetaMask does),
// deploys the registry from the page, then clicks through a doctor's
// blood-pressure reading (valid ACK), a role the chain refuses for this
// wallet (invalid ACK with the decoded custom error), the admin role (no
// forms), a reading the doctor signs in the wallet and the gateway account
// relays (the ACK shows who signed it), two readings collected in a batch
// the gateway anchors (each ACK shows its proof as a QR code image), the
// QR code downloaded and read back through the file input (valid), a
// tampered one, one of a batch never anchored and an image without a code
// (invalid, with the reason), the other record's QR code shown to the camera
// (Chromium's fake capture device playing a Y4M frame made here: valid), a
// tampered pasted text, a signed record's proof (version 2) read from its QR
// code and a tampered one, and a dropped FHIR Bundle (one entry anchored with
// its Provenance, the others listed with their reasons and paths), and
// sharing with consent: the patient grants a second hospital access to
// blood-pressure records in the wallet (relayed by the gateway), the hospital
// shares the doctor's reading, the second hospital opens it and sees its
// evidence, the patient sees the disclosure, revokes, and sharing is then
// refused (EHR_CONSENT_REVOKED); the patient's records are listed from the
// wallet's account (PatientBound, then RecordAnchored by pseudonym). Saves a
// screenshot.
//
// Run by scripts/web-portal-test.sh (which installs Debian's chromium and
// the portal's pinned QR packages: npm ci --prefix examples/web).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import * as ehr from "../pkg/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GANACHE_WEB = fileURLToPath(new URL("./node_modules/ganache/dist/web/ganache.min.js", import.meta.url));
const SCREENSHOT = process.env.EHRCHAIN_SCREENSHOT ?? join(ROOT, "target", "web-portal.png");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SERVED = ["examples/web/", "ehrchain-wasm/pkg/"];
const TYPES = {
  ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".wasm": "application/wasm",
  ".json": "application/json",
};
/** The camera's picture: Chromium's fake capture device plays this file's frame. */
const CAMERA = { width: 640, height: 480 };

function serve() {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^\/+/, "");
    if (!SERVED.some((dir) => path.startsWith(dir)) || path.includes("..")) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = readFileSync(join(ROOT, path));
      res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/**
 * window.ethereum over Ganache's browser build, as MetaMask answers: the
 * wallet's account is Ganache's account 2, and it signs typed data given as
 * JSON text.
 */
function injectProvider() {
  const ganache = window.Ganache.provider({
    chain: { chainId: 1337, hardfork: "shanghai" },
    wallet: { deterministic: true },
    miner: { blockGasLimit: 30_000_000, defaultTransactionGasLimit: 5_000_000 },
    logging: { quiet: true },
  });
  window.__ganache = ganache;
  window.ethereum = {
    async request({ method, params }) {
      if (method === "eth_accounts" || method === "eth_requestAccounts") {
        const all = await ganache.request({ method: "eth_accounts", params: [] });
        return [all[2]];
      }
      // MetaMask takes the typed data as JSON text, Ganache 7 only as an object.
      if (method === "eth_signTypedData_v4") return ganache.request({ method, params: [params[0], JSON.parse(params[1])] });
      return ganache.request({ method, params: params ?? [] });
    },
    on() {},
    removeListener() {},
  };
}

test("the portal: a doctor's reading, a forbidden role, a batch's proofs as QR codes", async (t) => {
  const server = await serve();
  const profile = mkdtempSync(join(tmpdir(), "ehrchain-chromium-"));
  // QR code images and the camera's Y4M file (written once the proof exists:
  // Chromium opens it when the page starts the camera).
  const work = mkdtempSync(join(tmpdir(), "ehrchain-qr-"));
  const camera = join(work, "camera.y4m");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 1400 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${camera}`],
  });
  t.after(async () => {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await context.addInitScript({ path: GANACHE_WEB });
  await context.addInitScript(injectProvider);

  const base = `http://127.0.0.1:${server.address().port}`;
  await page.goto(`${base}/examples/web/index.html?confirmations=1`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });

  // The administrator's set-up, from the page: deploy, grant the wallet the
  // doctor and nurse roles (not pathologist), register the templates.
  const registry = await page.evaluate(async () => {
    const ehr = await import("/ehrchain-wasm/pkg/web.js");
    const accounts = await window.__ganache.request({ method: "eth_accounts", params: [] });
    return ehr.deployRegistry(window.__ganache, {
      chainId: 1337,
      admin: accounts[0],
      grants: [["doctor", accounts[2]], ["nurse", accounts[2]], ["handshaker", accounts[1]], ["relayer", accounts[1]]],
      templates: ehr.Templates.builtIn(),
    });
  });
  const accounts = await page.evaluate(() => window.__ganache.request({ method: "eth_accounts", params: [] }));
  await page.fill("#registry", registry);
  // Signed entries go through the gateway (Ganache's account 1).
  await page.fill("#relayer", accounts[1]);
  await page.click("#connect");
  await page.waitForSelector("#wallet[data-connected=true]");

  // A doctor's blood-pressure reading: valid.
  await submitForm(page, "doctor", "blood-pressure", { __patient: "MRN-000123", systolic: "128", diastolic: "84" }, { position: "sitting" });
  const doctorAck = await shownAck(page, "#acks li[data-template=blood-pressure][data-status]");
  assert.equal(await doctorAck.getAttribute("data-status"), "valid", await doctorAck.innerText());
  assert.match(await doctorAck.locator(".badge").innerText(), /valid/);
  const doctorRecord = await doctorAck.getAttribute("data-record");
  // The write-ahead outbox (IndexedDB) holds the ACK and no entry.
  const stored = await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open("ehrchain-portal");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction(["outbox", "acks"]);
      const pending = tx.objectStore("outbox").count();
      const acks = tx.objectStore("acks").getAll();
      tx.oncomplete = () => resolve({ pending: pending.result, acks: acks.result.map((a) => a.status) });
    };
  }));
  assert.deepEqual(stored, { pending: 0, acks: ["valid"] });

  // The pathologist role: the wallet's account does not hold it on chain.
  await submitForm(page, "pathologist", "lab-result", {
    __patient: "MRN-000456", test_code: "2345-7", value: "5.4", unit: "mmol/L", collected_at: "2026-11-30T07:45:00",
  }, { specimen: "serum" });
  const labAck = await shownAck(page, "#acks li[data-template=lab-result][data-status]");
  assert.equal(await labAck.getAttribute("data-status"), "invalid");
  assert.match(await labAck.locator(".reason").innerText(), /AccessControlUnauthorizedAccount/);

  // The doctor signs a reading in the wallet; the gateway relays it; the ACK
  // names the doctor.
  await page.check("#sign");
  await submitForm(page, "doctor", "blood-pressure", { __patient: "MRN-000789", systolic: "131", diastolic: "86" });
  const signedAck = await shownAck(page, "#acks li[data-author][data-status]");
  assert.equal(await signedAck.getAttribute("data-status"), "valid", await signedAck.innerText());
  assert.equal(await signedAck.getAttribute("data-author"), accounts[2].toLowerCase());
  assert.equal(await signedAck.locator(".author").innerText(), `signed by ${accounts[2].toLowerCase()} as doctor`);
  const relayed = await page.evaluate(async (tiId) => {
    const [log] = await window.__ganache.request({ method: "eth_getLogs", params: [{ fromBlock: "0x0", toBlock: "latest", topics: [null, tiId] }] });
    const tx = await window.__ganache.request({ method: "eth_getTransactionByHash", params: [log.transactionHash] });
    return tx.from;
  }, await signedAck.getAttribute("data-ti"));
  assert.equal(relayed.toLowerCase(), accounts[1].toLowerCase());
  await page.uncheck("#sign");

  // The admin role has no forms.
  await page.click("#roles [data-role=admin]");
  assert.match(await page.locator("#forms").innerText(), /no forms for the admin role/);

  await batchProofs(page, work, camera);

  await signedProof(page, work);

  await fhirBundle(page);

  await sharing(page, registry, accounts, doctorRecord);

  assert.deepEqual(errors, []);
  console.log(`portal test: screenshot in ${SCREENSHOT}`);
});

/**
 * Two readings collected in a batch, anchored by the gateway; each ACK
 * shows its proof as a QR code. The first record's code, downloaded as PNG,
 * verifies through the file input (offline and on chain); a tampered code
 * (the first proof naming the second record), one of a batch never anchored
 * and an image without a code are refused with their reasons; the second
 * record's code verifies through the camera; a tampered pasted text is
 * refused. Takes the screenshot.
 */
async function batchProofs(page, work, camera) {
  await page.check("#batch");
  assert.equal(await page.isDisabled("#sign"), true);
  for (const [patient, systolic, diastolic] of [["MRN-001001", "121", "79"], ["MRN-001002", "142", "91"]]) {
    await submitForm(page, "doctor", "blood-pressure", { __patient: patient, systolic, diastolic });
  }
  // Each entry is queued once its record is sealed.
  await page.locator("#anchor-batch:not([disabled])", { hasText: "(2 records)" }).waitFor();
  assert.equal(await page.locator("#anchor-batch").innerText(), "Anchor the batch (2 records)");
  assert.deepEqual(await page.locator("#acks li .badge").evaluateAll((badges) => badges.slice(0, 2).map((b) => b.textContent)),
    ["queued", "queued"]);
  await page.click("#anchor-batch");
  // The newest entry is listed first: the second record, then the first.
  const items = page.locator("#acks li:has(figure.proof-qr)");
  await items.nth(1).waitFor({ timeout: 60_000 });
  const shown = await items.evaluateAll((lis) => lis.map((li) => ({
    ti: li.dataset.ti, status: li.dataset.status, record: li.dataset.record, proof: li.querySelector("figure").dataset.proof,
    modules: li.querySelector("figure canvas").dataset.modules,
  })));
  const [second, first] = shown;
  assert.equal(shown.length, 2);
  assert.deepEqual([first.status, second.status], ["valid", "valid"]);
  // A proof with one sibling is 218 characters: QR version 8 (49 × 49
  // modules) in alphanumeric mode at level M (docs/proofs.md, "Sizes"); 7 at
  // level L, 11 in byte mode.
  assert.deepEqual([first.proof.length, first.modules, second.modules], [218, "49", "49"]);
  const proofs = [first, second].map(({ proof }) => ehr.verifyProof(proof));
  assert.deepEqual(proofs.map((p) => [p.index, p.leafCount, p.recordHash, p.root]),
    [[0, 2, first.record, proofs[0].root], [1, 2, second.record, proofs[0].root]]);
  assert.equal(await page.locator("#anchor-batch").innerText(), "Anchor the batch");
  await page.uncheck("#batch");
  const valid = ({ record }, n) => `Valid proof: record ${short(record)} is record ${n} of 2 under root ${short(proofs[0].root)}. `
    + "Anchored on chain 1337 (2 records); the registry's verifyRecord confirms it.";

  // The first record's QR code, downloaded and read back from the file.
  const [download] = await Promise.all([page.waitForEvent("download"), items.nth(1).locator("figure a[download]").click()]);
  assert.equal(download.suggestedFilename(), `ehrchain-proof-${first.ti.slice(2, 14)}.png`);
  const png = join(work, download.suggestedFilename());
  await download.saveAs(png);
  assert.deepEqual(readFileSync(png).subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  assert.deepEqual(await verifyShown(page, () => page.setInputFiles("#proof-image", png)),
    { result: "valid", code: null, reason: null, text: valid(first, 1) });
  assert.equal(await page.inputValue("#proof-text"), first.proof);

  // Back to the doctor's form for the screenshot, with the QR codes and the valid proof shown.
  await page.click("#roles [data-role=doctor]");
  mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  // Another record's proof: the first record's siblings under the second's hash.
  const json = ehr.InclusionProof.parse(first.proof).toJSON();
  const tampered = ehr.InclusionProof.parse({ ...json, recordHash: second.record }).toText();
  const refused = await verifyShown(page, async () => page.setInputFiles("#proof-image", await qrImage(page, work, "tampered", tampered)));
  assert.deepEqual([refused.result, refused.code, refused.reason], ["invalid", "EHR_PROOF_INVALID", "root_mismatch"], refused.text);
  assert.equal(await page.inputValue("#proof-text"), tampered);

  // A proof that holds on its own, of a batch the chain does not hold.
  const builder = new ehr.BatchBuilder();
  for (let i = 1; i <= 3; i += 1) builder.push(`0x${String(i).padStart(2, "0").repeat(32)}`);
  const unanchored = builder.build(`0x${"bb".repeat(32)}`).proof(1).toText();
  const notAnchored = await verifyShown(page, async () => page.setInputFiles("#proof-image", await qrImage(page, work, "unanchored", unanchored)));
  assert.deepEqual([notAnchored.result, notAnchored.code, notAnchored.reason], ["invalid", "EHR_PROOF_NOT_ANCHORED", "not_anchored"], notAnchored.text);

  // An image without a QR code.
  const blank = await verifyShown(page, async () => page.setInputFiles("#proof-image", await qrImage(page, work, "blank", "")));
  assert.deepEqual([blank.result, blank.reason], ["invalid", "no_qr_code"]);
  assert.match(blank.text, /^Invalid proof: no QR code found in blank\.png\./);

  // The second record's QR code in front of the camera.
  const luma = await page.evaluate(({ width, height }) => {
    const frame = document.createElement("canvas");
    frame.width = width;
    frame.height = height;
    const g = frame.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, width, height);
    const code = document.querySelector("#acks li figure.proof-qr canvas");
    g.drawImage(code, (width - code.width) / 2, (height - code.height) / 2);
    const rgba = g.getImageData(0, 0, width, height).data;
    let y = "";
    for (let i = 0; i < rgba.length; i += 4) y += String.fromCharCode(Math.round(0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2]));
    return btoa(y);
  }, CAMERA);
  writeY4m(camera, Buffer.from(luma, "base64"));
  assert.deepEqual(await verifyShown(page, () => page.click("#scan")), { result: "valid", code: null, reason: null, text: valid(second, 2) });
  assert.equal(await page.inputValue("#proof-text"), second.proof);
  assert.equal(await page.isHidden("#camera"), true);

  // A tampered pasted text.
  const pasted = await verifyShown(page, async () => {
    await page.fill("#proof-text", `${first.proof.slice(0, -3)}AAA`);
    await page.click("#verify");
  });
  assert.deepEqual([pasted.result, pasted.code], ["invalid", "EHR_PROOF_INVALID"], pasted.text);
}

/**
 * A signed record's proof (version 2: docs/vectors/signed_proofs.json, a
 * statement a doctor signed for registry 0x4242…) read from its QR code:
 * valid offline, with its author, role and the registry it was signed for;
 * the same proof with another sibling pasted: refused.
 */
async function signedProof(page, work) {
  const [vector] = JSON.parse(readFileSync(join(ROOT, "docs/vectors/signed_proofs.json"), "utf8")).valid;
  const { statement, domain, root } = vector.json;
  assert.equal(statement.role, ehr.roleId("doctor"));
  const shown = await verifyShown(page, async () => page.setInputFiles("#proof-image", await qrImage(page, work, "signed", vector.text)));
  assert.deepEqual(shown, {
    result: "valid", code: null, reason: null,
    text: `Valid signed proof: record ${short(statement.recordHash)}, signed by ${statement.author} as doctor, is record 1 of 3 `
      + `under root ${short(root)} (signed for registry ${domain.registry} on chain 1337; checked offline: the signature and the root).`,
  });
  assert.equal(await page.inputValue("#proof-text"), vector.text);
  const siblings = [`0x${"01".repeat(32)}`, ...vector.json.siblings.slice(1)];
  const tampered = ehr.SignedRecordProof.parse({ ...vector.json, siblings }).toText();
  const refused = await verifyShown(page, async () => {
    await page.fill("#proof-text", tampered);
    await page.click("#verify");
  });
  assert.deepEqual([refused.result, refused.code], ["invalid", "EHR_PROOF_INVALID"], refused.text);
}

/** `0x1234567890…abcdef`, as the portal shortens hashes. */
function short(hash) {
  return `${hash.slice(0, 10)}…${hash.slice(-6)}`;
}

/**
 * The verdict the portal shows after `action` (reading an image, scanning,
 * pasting): `{result, code, reason, text}`.
 */
async function verifyShown(page, action) {
  await page.evaluate(() => document.getElementById("proof-result").replaceChildren());
  await action();
  const shown = page.locator("#proof-result p[data-result]");
  await shown.waitFor({ timeout: 30_000 });
  return {
    result: await shown.getAttribute("data-result"),
    code: await shown.getAttribute("data-code"),
    reason: await shown.getAttribute("data-reason"),
    text: await shown.innerText(),
  };
}

/**
 * A PNG file `<name>.png` in `work` of `text` drawn as the portal draws a
 * proof's QR code (a blank image for no text).
 */
async function qrImage(page, work, name, text) {
  const url = await page.evaluate(async (content) => {
    const { qrCanvas } = await import("/examples/web/qr.js");
    if (content) return qrCanvas(content).toDataURL("image/png");
    const blank = document.createElement("canvas");
    blank.width = blank.height = 200;
    return blank.toDataURL("image/png");
  }, text);
  const file = join(work, `${name}.png`);
  writeFileSync(file, Buffer.from(url.slice(url.indexOf(",") + 1), "base64"));
  return file;
}

/**
 * Writes one grey-scale frame (`luma`, one byte per pixel, CAMERA's size) as
 * a YUV4MPEG2 file: 4:2:0, neutral chroma. Chromium's fake capture device
 * plays it over and over.
 */
function writeY4m(file, luma) {
  const { width, height } = CAMERA;
  assert.equal(luma.length, width * height);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\nFRAME\n`);
  writeFileSync(file, Buffer.concat([header, luma, Buffer.alloc(width * height / 2, 128)]));
}

/**
 * Opens `role`'s form for `template`, fills its `fields` and chooses its
 * `selects` (name to value), and submits it.
 */
async function submitForm(page, role, template, fields, selects = {}) {
  await page.click(`#roles [data-role=${role}]`);
  await page.click(`.forms-tabs [data-form=${template}]`);
  const form = `form[data-template=${template}]`;
  for (const [name, value] of Object.entries(fields)) await page.fill(`${form} [name=${name}]`, value);
  for (const [name, value] of Object.entries(selects)) await page.selectOption(`${form} [name=${name}]`, value);
  await page.click(`${form} button[type=submit]`);
}

/** The ACK item `selector` picks in `#acks`, once the portal shows it. */
async function shownAck(page, selector) {
  const ack = page.locator(selector);
  await ack.waitFor({ timeout: 60_000 });
  return ack;
}

/** A blood pressure of the FHIR vital-signs profile in `unit` (UCUM). */
function bloodPressure(id, unit) {
  const loinc = (code) => ({ coding: [{ system: "http://loinc.org", code }] });
  const value = (v) => ({ value: v, unit, system: "http://unitsofmeasure.org", code: unit });
  return {
    resourceType: "Observation", id, status: "final", code: loinc("85354-9"),
    subject: { reference: "urn:uuid:p1" }, performer: [{ reference: "urn:uuid:n1" }],
    effectiveDateTime: "2026-11-30T09:28:00Z",
    component: [{ code: loinc("8480-6"), valueQuantity: value(unit === "kPa" ? 16 : 120) },
      { code: loinc("8462-4"), valueQuantity: value(unit === "kPa" ? 10.7 : 80) }],
  };
}

/**
 * A FHIR Bundle dropped on the portal (a patient, a nurse, a reading in
 * mm[Hg] and one in kPa): one TI is submitted and anchored, its Provenance
 * shown; the Patient, the Practitioner and the kPa reading are listed with
 * their reasons, the reading's problems with their paths. Then a resource
 * that is not FHIR JSON is refused as a whole.
 */
async function fhirBundle(page) {
  const bundle = {
    resourceType: "Bundle", type: "collection", entry: [
      { fullUrl: "urn:uuid:p1", resource: { resourceType: "Patient", id: "p1",
        identifier: [{ system: "urn:oid:1.2.36.146.595.217.0.1", value: "MRN-000789" }] } },
      { fullUrl: "urn:uuid:n1", resource: { resourceType: "Practitioner", id: "n1" } },
      { fullUrl: "urn:uuid:bp1", resource: bloodPressure("bp1", "mm[Hg]") },
      { fullUrl: "urn:uuid:bp2", resource: bloodPressure("bp2", "kPa") },
    ],
  };
  await page.evaluate((text) => {
    const files = new DataTransfer();
    files.items.add(new File([text], "bundle.json", { type: "application/fhir+json" }));
    document.getElementById("fhir-text").dispatchEvent(new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true }));
  }, JSON.stringify(bundle, null, 2));
  await page.waitForFunction(() => document.getElementById("fhir-text").value.includes("urn:uuid:bp2"));
  await page.click("#fhir-submit");

  const summary = page.locator("#fhir-result p[data-mapped]");
  await summary.waitFor();
  assert.deepEqual([await summary.getAttribute("data-mapped"), await summary.getAttribute("data-unmapped")], ["1", "3"]);
  const unmapped = page.locator("#fhir-result .fhir-unmapped > li");
  assert.deepEqual(await unmapped.evaluateAll((items) => items.map((li) => [li.dataset.index, li.dataset.code])),
    [["0", "EHR_FHIR_UNMAPPED"], ["1", "EHR_FHIR_UNMAPPED"], ["3", "EHR_FHIR_REJECTED"]]);
  const problems = page.locator("#fhir-result li[data-index='3'] li[data-path]");
  assert.deepEqual(await problems.evaluateAll((items) => items.map((li) => [li.dataset.path, li.dataset.problem])), [
    ["component.where(code.coding.exists(system = 'http://loinc.org' and code = '8480-6')).value", "wrong_unit"],
    ["component.where(code.coding.exists(system = 'http://loinc.org' and code = '8462-4')).value", "wrong_unit"],
  ]);
  assert.match(await page.locator("#fhir-result li[data-index='3'] .reason").innerText(),
    /^urn:uuid:bp2 does not fill template blood-pressure: .*unit "kPa" where "mm\[Hg\]" \(UCUM\) is expected/);

  const ack = await shownAck(page, "#acks li[data-fhir='urn:uuid:bp1']");
  assert.equal(await ack.getAttribute("data-status"), "valid", await ack.innerText());
  assert.equal(await ack.getAttribute("data-role"), "nurse");
  const provenance = JSON.parse(await ack.locator("details[data-resource-type=Provenance] pre").textContent());
  assert.deepEqual(provenance.target, [{ reference: "urn:uuid:bp1" }]);
  assert.deepEqual(provenance.agent[0].who, { reference: "Practitioner/n1" });

  await page.fill("#fhir-text", "{\"resourceType\": \"Procedure\", \"id\": \"x\"}");
  await page.click("#fhir-submit");
  await page.waitForSelector("#fhir-result p[data-result=refused]");
  assert.match(await page.locator("#fhir-result").innerText(), /Not submitted: .*\(EHR_FHIR_UNMAPPED\)$/);
}

/**
 * Sharing with consent through the portal's sharing card. The set-up is the
 * page's (as an administrator's script would be): EhrConsent deployed with
 * the wallet's account (2) as custodian, the patient of MRN-000123 bound to
 * that same account, and the second hospital (account 3) publishing its key.
 */
async function sharing(page, registry, accounts, record) {
  const consent = await page.evaluate(async ({ registry, accounts }) => {
    const ehr = await import("/ehrchain-wasm/pkg/web.js");
    return ehr.deployConsent(window.__ganache, { chainId: 1337, admin: accounts[0], registry, custodians: [accounts[2]] });
  }, { registry, accounts });
  await page.fill("#consent", consent);
  await page.fill("#patient-id", "MRN-000123");
  await page.click("#history");
  await page.waitForSelector("#pseudonym[data-subject]");
  const subject = await page.getAttribute("#pseudonym", "data-subject");
  assert.equal(await page.locator("#my-pseudonyms").innerText(),
    `${accounts[2]} is bound to no pseudonym on this EhrConsent: the hospital binds it.`);
  assert.equal(await page.locator("#my-records li").count(), 0);
  const keys = await page.evaluate(async ({ registry, consent, accounts, subject }) => {
    const ehr = await import("/ehrchain-wasm/pkg/web.js");
    const context = { chainId: 1337, registry, consent };
    await ehr.bindPatient(window.__ganache, { context, from: accounts[2], subject, account: accounts[2] });
    const privateKey = ehr.generateRecipientKey();
    const publicKey = ehr.recipientPublicKey("x_wing", privateKey);
    await ehr.publishRecipientKey(window.__ganache, { context, from: accounts[3], suite: "x_wing", publicKey });
    const hex = (b) => `0x${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
    return { privateKey: hex(privateKey), publicKey: hex(publicKey) };
  }, { registry, consent, accounts, subject });
  const hospitalB = accounts[3].toLowerCase();

  // The patient grants B access to blood-pressure records, in the wallet.
  await page.fill("#grant-recipient", hospitalB);
  await page.selectOption("#grant-template", ehr.Templates.builtIn().latest("blood-pressure").id);
  await page.click("#grant");
  const granted = await page.waitForSelector("#grant-result p[data-grant]", { timeout: 30_000 });
  const grantId = await granted.getAttribute("data-grant");
  await page.waitForSelector(`#grants li[data-grant="${grantId}"][data-revoked=""]`);

  // The hospital shares the doctor's reading with B.
  await page.selectOption("#share-record", record);
  await page.fill("#share-recipient", hospitalB);
  await page.fill("#share-grant", grantId);
  await page.fill("#share-key", keys.publicKey);
  await page.click("#share");
  const shared = await page.waitForSelector("#share-result p", { timeout: 30_000 });
  assert.equal(await shared.getAttribute("class"), "ok", await shared.innerText());
  const capsule = await page.inputValue("#shared-capsule");
  const envelope = await page.inputValue("#shared-envelope");

  // B opens it and sees the evidence.
  await page.fill("#open-capsule", capsule);
  await page.fill("#open-envelope", envelope);
  await page.fill("#open-recipient", hospitalB);
  await page.fill("#open-key", keys.privateKey);
  await page.click("#open-shared");
  const opened = await page.waitForSelector("#open-result p", { timeout: 30_000 });
  assert.equal(await opened.getAttribute("data-result"), "opened", await opened.innerText());
  assert.equal(await opened.getAttribute("data-record"), record);
  assert.match(await page.locator("#evidence").innerText(), new RegExp(`grant ${grantId}`));
  assert.equal(JSON.parse(await page.locator("#shared-record").innerText()).patientId, "MRN-000123");

  // The patient sees the disclosure, and their records found from the
  // wallet's account: the doctor's reading of MRN-000123 (anchored on its
  // own; the batched readings are not linked to a pseudonym on chain).
  await page.click("#history");
  const mine = await page.waitForSelector("#my-records li[data-record]");
  const ti = await page.getAttribute(`#acks li[data-record="${record}"]`, "data-ti");
  assert.deepEqual(
    await page.locator("#my-records li").evaluateAll((items) => items.map((li) => [li.dataset.record, li.dataset.ti, li.dataset.template, li.dataset.role])),
    [[record, ti, "blood-pressure", "doctor"]],
  );
  assert.match(await mine.innerText(), new RegExp(`^blood-pressure, 20\\d\\d-\\d\\d-\\d\\dT[0-9:.]+Z, by a doctor: record ${short(record)} \\(TI ${short(ti)}, block \\d+\\)$`));
  assert.equal(await page.locator("#my-pseudonyms").innerText(),
    `${accounts[2]} is bound to ${short(subject)}: 1 record anchored one by one (batched records are not linked to a pseudonym on chain).`);
  const disclosure = await page.waitForSelector("#disclosures li[data-recipient]");
  assert.deepEqual(
    [await disclosure.getAttribute("data-recipient"), await disclosure.getAttribute("data-record"), await disclosure.getAttribute("data-authority")],
    [hospitalB, record, grantId],
  );
  await page.click(`#grants li[data-grant="${grantId}"] button.revoke`);
  await page.waitForSelector(`#grant-result p[data-revoked="${grantId}"]`, { timeout: 30_000 });
  await page.waitForSelector(`#grants li.revoked[data-grant="${grantId}"]`);

  // No new capsule under the revoked grant.
  await page.click("#share");
  const refused = await page.waitForSelector("#share-result p[data-code]", { timeout: 30_000 });
  assert.equal(await refused.getAttribute("data-code"), "EHR_CONSENT_REVOKED", await refused.innerText());
}
