// The README's example runs as written (with "ehrchain" resolved to the
// built package).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, rmSync } from "node:fs";

test("the README example runs and anchors a reading", async () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const code = /```js\n([\s\S]*?)```/.exec(readme)[1]
    .replace('from "ehrchain"', 'from "../pkg/index.js"')
    .replace(/console\.log\(ack\.status.*\n/, "globalThis.__readmeAck = ack;\n")
    .replace(/console\.log\(form\.title.*\n/, "");
  const file = new URL("./readme-example.tmp.mjs", import.meta.url);
  writeFileSync(file, code);
  try {
    await import(file);
  } finally {
    rmSync(file);
  }
  assert.equal(globalThis.__readmeAck.status, "valid", JSON.stringify(globalThis.__readmeAck));
});
