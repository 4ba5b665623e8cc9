// The web portal (examples/web/) in headless Chromium: serves the page and the
// built package on 127.0.0.1, injects an EIP-1193 provider backed by Ganache's
// browser build as window.ethereum (exposing one account, as MetaMask does),
// deploys the registry from the page, then clicks through a doctor's
// blood-pressure reading (valid ACK), a role the chain refuses for this
// wallet (invalid ACK with the decoded custom error), the admin role (no
// forms), a reading the doctor signs in the wallet and the gateway account
// relays (the ACK shows who signed it), a proof's QR text (valid, then
// tampered), and a dropped FHIR Bundle (one entry anchored with its
// Provenance, the others listed with their reasons and paths). Saves a
// screenshot.
//
// Run by scripts/web-portal-test.sh (which installs Debian's chromium).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GANACHE_WEB = fileURLToPath(new URL("./node_modules/ganache/dist/web/ganache.min.js", import.meta.url));
const SCREENSHOT = process.env.EHRCHAIN_SCREENSHOT ?? join(ROOT, "target", "web-portal.png");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SERVED = ["examples/web/", "ehrchain-wasm/pkg/"];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };

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

test("the portal: a doctor's reading, a forbidden role, a proof", async (t) => {
  const server = await serve();
  const profile = mkdtempSync(join(tmpdir(), "ehrchain-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 1400 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  t.after(async () => {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
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

  // A batch anchored by the handshaker account; its proof's QR text verifies.
  const qr = await page.evaluate(async (registryAddress) => {
    const ehr = await import("/ehrchain-wasm/pkg/web.js");
    const accounts = await window.__ganache.request({ method: "eth_accounts", params: [] });
    const builder = new ehr.BatchBuilder();
    for (let i = 1; i <= 5; i += 1) builder.push(`0x${String(i).padStart(2, "0").repeat(32)}`);
    const batch = builder.build(`0x${"ba".repeat(32)}`);
    const transport = new ehr.Eip1193Transport(window.__ganache, { chainId: 1337, registry: registryAddress });
    const tx = batch.anchorTransaction(registryAddress, 1337);
    const receipt = await transport.waitForReceipt(await transport.send({ from: accounts[1], to: tx.to, data: tx.calldata }));
    if (!receipt.status) throw new Error("anchorBatch reverted");
    return batch.proof(3).toText();
  }, registry);
  await page.fill("#proof-text", qr);
  await page.click("#verify");
  const result = page.locator("#proof-result p");
  await result.waitFor();
  assert.equal(await result.getAttribute("data-result"), "valid", await result.innerText());
  assert.match(await result.innerText(), /record 4 of 5 .*verifyRecord confirms it/);

  // Back to the doctor's form for the screenshot, with the valid proof shown.
  await page.click("#roles [data-role=doctor]");
  mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  // A tampered QR text is refused.
  await page.fill("#proof-text", `${qr.slice(0, -3)}AAA`);
  await page.click("#verify");
  await page.waitForSelector("#proof-result p[data-result=invalid]");
  assert.match(await page.locator("#proof-result").innerText(), /Invalid proof: .*EHR_PROOF_INVALID/);

  await fhirBundle(page);

  assert.deepEqual(errors, []);
  console.log(`portal test: screenshot in ${SCREENSHOT}`);
});

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
