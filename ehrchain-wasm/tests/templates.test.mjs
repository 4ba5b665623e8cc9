// Template documents handed out by Templates carry their id, as the TS type
// says and as the core's Template::to_json writes them (the C ABI's too).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ehr from "../pkg/index.js";

test("get() and latest() return documents with their id, which add() reads back", () => {
  const templates = ehr.Templates.builtIn();
  for (const summary of templates.list()) {
    const doc = templates.get(summary.id);
    assert.equal(doc.id, summary.id, summary.name);
    assert.equal(doc.format, "ehrchain.template/1");
    assert.deepEqual(templates.latest(summary.name), doc);
    // The document with its id loads into another set under the same id.
    const copy = new ehr.Templates();
    assert.equal(copy.add(doc), summary.id);
    assert.deepEqual(copy.get(summary.id), doc);
  }
  assert.equal(templates.get(`0x${"00".repeat(32)}`), undefined);
  assert.equal(templates.latest("no-such-template"), undefined);
  // An edited document keeps an id that no longer fits: refused, saying so.
  const edited = templates.latest("blood-pressure");
  edited.title = "Blood pressure (edited)";
  assert.throws(() => new ehr.Templates().add(edited), (e) =>
    e.code === "EHR_TEMPLATE_INVALID" && e.message.includes(`template id ${edited.id} does not match its content`));
  delete edited.id;
  assert.match(new ehr.Templates().add(edited), /^0x[0-9a-f]{64}$/);
});
