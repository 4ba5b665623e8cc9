// FHIR R4 in and out through the built package, on Ganache's in-process
// provider: a Bundle becomes TIs (every entry mapped or reported), a valid ACK
// comes back as a Provenance, an invalid one as an AuditEvent, any ACK as an
// AuditEvent for an audit log (fhirAuditEvent), and bad FHIR is refused with
// the path of each problem. The rules are the core's
// (docs/fhir.md); this checks that plain JavaScript objects cross both ways.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getAddress } from "viem";
import * as ehr from "../pkg/index.js";
import { CHAIN_ID, setup } from "./chain.mjs";

const { hs, templates, transport, registry } = await setup();
const context = { chainId: CHAIN_ID, registry };

const MRN = "urn:oid:1.2.36.146.595.217.0.1";
const options = { patientIdentifierSystem: MRN, tiIdSalt: `0x${"5a".repeat(32)}` };
const ucum = (value, code) => ({ value, system: "http://unitsofmeasure.org", code });
const loinc = (code) => ({ coding: [{ system: "http://loinc.org", code }] });
const bloodPressure = (id, systolic, subject) => ({
  resourceType: "Observation", id, status: "final", code: loinc("85354-9"),
  subject, performer: [{ reference: "urn:uuid:n1" }], effectiveDateTime: "2025-11-30T09:28:00Z",
  component: [
    { code: loinc("8480-6"), valueQuantity: systolic },
    { code: loinc("8462-4"), valueQuantity: ucum(80, "mm[Hg]") },
  ],
});
const bundle = {
  resourceType: "Bundle", type: "transaction",
  entry: [
    { fullUrl: "urn:uuid:p1", resource: { resourceType: "Patient", id: "p1", identifier: [{ system: MRN, value: "MRN-000123" }] } },
    { fullUrl: "urn:uuid:n1", resource: { resourceType: "Practitioner", id: "n1" } },
    { fullUrl: "urn:uuid:bp1", resource: bloodPressure("bp1", ucum(120, "mm[Hg]"), { reference: "urn:uuid:p1" }) },
    { fullUrl: "urn:uuid:pr1", resource: { resourceType: "Procedure", id: "pr1" } },
  ],
};

/** The identifier an entity of a Provenance gives for `system`. */
const entity = (provenance, system) =>
  provenance.entity.find((e) => e.what.identifier.system === system)?.what.identifier.value;

test("a FHIR Bundle becomes one TI per mappable entry, and its valid ACK a Provenance", async () => {
  const mapping = ehr.fhirMapBundle(templates, bundle, options);
  assert.equal(mapping.mapped.length, 1);
  assert.deepEqual(
    mapping.unmapped.map((u) => [u.index, u.fullUrl, u.resourceType, u.code]),
    [
      [0, "urn:uuid:p1", "Patient", "EHR_FHIR_UNMAPPED"],
      [1, "urn:uuid:n1", "Practitioner", "EHR_FHIR_UNMAPPED"],
      [3, "urn:uuid:pr1", "Procedure", "EHR_FHIR_UNMAPPED"],
    ],
  );
  const [entry] = mapping.mapped;
  assert.deepEqual(entry.source, { reference: "urn:uuid:bp1", resourceType: "Observation", author: "Practitioner/n1" });
  assert.deepEqual(entry.ti.fields, { diastolic: 80, measured_at: "2025-11-30T09:28:00Z", systolic: 120 });
  assert.equal(entry.ti.timestamp, 1764494880);
  // The same Bundle as JSON text maps to the same TIs.
  assert.deepEqual(ehr.fhirMapBundle(templates, JSON.stringify(bundle), options), mapping);

  const ack = await ehr.submitTi(hs, entry.ti, transport);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  const provenance = ehr.fhirFromAck(ack, entry, context, 1764495000123);
  assert.equal(provenance.resourceType, "Provenance");
  assert.deepEqual(provenance.target, [{ reference: "urn:uuid:bp1" }]);
  assert.equal(provenance.recorded, "2025-11-30T09:30:00.123Z");
  assert.equal(provenance.policy[0].toLowerCase(), `urn:ehrchain:registry:eip155:${CHAIN_ID}:${registry}`.toLowerCase());
  assert.deepEqual(provenance.agent[0].who, { reference: "Practitioner/n1" });
  assert.deepEqual(provenance.agent[0].role, [{ coding: [{ system: "urn:ehrchain:role", code: "nurse" }] }]);
  assert.equal(entity(provenance, "urn:ehrchain:record-hash"), ack.recordHash);
  assert.equal(entity(provenance, "urn:ehrchain:transaction"), `eip155:${CHAIN_ID}:${ack.txHash}`);
});

test("every ACK, a valid one too, comes back as an AuditEvent for the audit log (fhirAuditEvent)", async () => {
  const mapping = ehr.fhirMapBundle(templates, bundle, { ...options, tiIdSalt: `0x${"5b".repeat(32)}` });
  const [entry] = mapping.mapped;
  const ack = await ehr.submitTi(hs, entry.ti, transport);
  assert.equal(ack.status, "valid", JSON.stringify(ack));
  const event = ehr.fhirAuditEvent(ack, entry, context, 1764495000123);
  // The core's fhir::audit_event, field for field: an export that succeeded
  // (outcome "0", no outcomeDesc), the author as requesting agent, the
  // registry (EIP-55) as source, the Observation with the TI id, template and
  // anchoring transaction.
  assert.deepEqual(event, {
    resourceType: "AuditEvent",
    type: { system: "http://dicom.nema.org/resources/ontology/DCM", code: "110106", display: "Export" },
    action: "C",
    recorded: "2025-11-30T09:30:00.123Z",
    outcome: "0",
    agent: [{
      type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", code: "author", display: "Author" }] },
      role: [{ coding: [{ system: "urn:ehrchain:role", code: "nurse" }] }],
      who: { reference: "Practitioner/n1" },
      requestor: true,
    }],
    source: {
      observer: {
        identifier: { system: "urn:ehrchain:registry", value: `eip155:${CHAIN_ID}:${getAddress(registry)}` },
        display: "ehrchain handshaker",
      },
      type: [{ system: "http://terminology.hl7.org/CodeSystem/security-source-type", code: "4", display: "Application Server" }],
    },
    entity: [{
      what: { reference: "urn:uuid:bp1" },
      type: { system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "2", display: "System Object" },
      detail: [
        { type: "tiId", valueString: ack.tiId },
        { type: "templateId", valueString: ack.templateId },
        { type: "transaction", valueString: `eip155:${CHAIN_ID}:${ack.txHash}` },
      ],
    }],
  });
  // fhirProvenance is the Provenance fhirFromAck gives a valid ACK.
  const provenance = ehr.fhirProvenance(ack, entry, context, 1764495000123);
  assert.equal(provenance.resourceType, "Provenance");
  assert.deepEqual(provenance, ehr.fhirFromAck(ack, entry, context, 1764495000123));
  // Arguments are read as fhirFromAck reads them.
  assert.throws(() => ehr.fhirAuditEvent({ ...ack, status: "lost" }, entry, context, 1), { code: "EHR_INVALID_JSON" });
  assert.throws(() => ehr.fhirAuditEvent(ack, entry, context, 1.5), { code: "EHR_INVALID_ARGUMENT" });
  assert.throws(() => ehr.fhirProvenance(ack, { source: entry.source }, context, 1), { code: "EHR_INVALID_JSON" });
});

test("an invalid ACK comes back as an AuditEvent with the reason", async () => {
  // Acting as a pathologist, whom the blood-pressure template does not allow.
  const mapping = ehr.fhirMapBundle(templates, bundle, { ...options, authorRole: "pathologist" });
  const [entry] = mapping.mapped;
  const ack = await ehr.submitTi(hs, entry.ti, transport);
  assert.equal(ack.status, "invalid");
  const event = ehr.fhirFromAck(ack, entry, context, 1764495000000);
  assert.equal(event.resourceType, "AuditEvent");
  assert.equal(event.outcome, "8");
  assert.match(event.outcomeDesc, /role "pathologist" may not submit this template/);
  assert.deepEqual(event.entity[0].what, { reference: "urn:uuid:bp1" });
  assert.equal(event.agent[0].requestor, true);
  // fhirAuditEvent gives the same AuditEvent; an invalid ACK has no Provenance.
  assert.deepEqual(ehr.fhirAuditEvent(ack, entry, context, 1764495000000), event);
  assert.equal(ehr.fhirProvenance(ack, entry, context, 1764495000000), undefined);
});

test("FHIR input is refused with the path of each problem", () => {
  const refused = (f) => {
    try {
      f();
    } catch (e) {
      return e;
    }
    assert.fail("not refused");
  };
  const kpa = bloodPressure("bp2", ucum(16, "kPa"), { identifier: { system: MRN, value: "MRN-1" } });
  const e = refused(() => ehr.fhirMapResource(templates, kpa, options));
  assert.equal(e.name, "EhrchainError");
  assert.equal(e.code, "EHR_FHIR_REJECTED");
  assert.equal(e.kind, "fhir");
  assert.match(
    e.message,
    /at component\.where\(code\.coding\.exists\(system = 'http:\/\/loinc\.org' and code = '8480-6'\)\)\.value \(field "systolic"\): unit "kPa" where "mm\[Hg\]" \(UCUM\) is expected/,
  );
  assert.equal(refused(() => ehr.fhirMapBundle(templates, { resourceType: "Bundle", type: "document" }, options)).code,
    "EHR_FHIR_MALFORMED");
  assert.equal(refused(() => ehr.fhirMapBundle(templates, bundle, {})).code, "EHR_INVALID_JSON");
  assert.equal(refused(() => ehr.fhirMapResource(templates, { resourceType: "Procedure", id: "x" }, options)).code,
    "EHR_FHIR_UNMAPPED");
});

test("a FHIR resource maps to a template named by id, with the same checks (as C's ehr_fhir_map_resource_to)", () => {
  const subject = { identifier: { system: MRN, value: "MRN-1" } };
  const reading = { ...bloodPressure("bp3", ucum(120, "mm[Hg]"), subject), performer: [{ reference: "Practitioner/n1" }] };
  const bp = templates.latest("blood-pressure").id;
  const custody = templates.latest("drug-shipment-custody").id;
  assert.equal(ehr.fhirMapResource(templates, reading, options, bp).ti.templateId, bp);
  assert.throws(() => ehr.fhirMapResource(templates, reading, options, custody), { code: "EHR_FHIR_REJECTED" });
  assert.throws(() => ehr.fhirMapResource(templates, reading, options, `0x${"07".repeat(32)}`), { code: "EHR_TEMPLATE_UNKNOWN" });
  assert.throws(() => ehr.fhirMapResource(templates, reading, options, "blood-pressure"), { code: "EHR_INVALID_ARGUMENT" });
  const kpa = { ...reading, component: [{ code: loinc("8480-6"), valueQuantity: ucum(16, "kPa") }, reading.component[1]] };
  assert.throws(() => ehr.fhirMapResource(templates, kpa, options, bp), { code: "EHR_FHIR_REJECTED", message: /unit "kPa"/ });
});
