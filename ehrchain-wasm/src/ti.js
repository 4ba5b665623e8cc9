// How a TI object crosses into WebAssembly (ehrchain-wasm/src/convert.rs,
// `initial_transaction`): as JSON text, except its long texts. Node 20's
// JSON.stringify writes a 256 KiB string at well under 1 GB/s, while
// TextEncoder.encodeInto copies it into WebAssembly memory several times
// faster; a long clinical note would otherwise cost more to stringify than
// to seal.

/** Strings in `fields` from this many UTF-16 units on travel on their own. */
const LONG_TEXT = 4096;

/**
 * Splits a TI object into the JSON text of everything but its long texts
 * (which are left in it as empty strings) and those texts by field name.
 * Returns `undefined` when the TI has no long text in `fields`, or is not a
 * plain TI object (then it is stringified whole). Each property is read once,
 * as JSON.stringify would read it.
 */
export function splitLongTexts(ti) {
  if (!isPlainObject(ti)) return undefined;
  const top = Object.entries(ti);
  const at = top.findIndex(([key]) => key === "fields");
  const fields = at < 0 ? undefined : top[at][1];
  if (!isPlainObject(fields)) return undefined;
  const entries = Object.entries(fields);
  const names = [];
  const texts = [];
  for (const entry of entries) {
    if (isLongText(entry[1])) {
      names.push(entry[0]);
      texts.push(entry[1]);
      entry[1] = "";
    }
  }
  if (names.length === 0) return undefined;
  top[at][1] = Object.fromEntries(entries);
  return { json: JSON.stringify(Object.fromEntries(top)), names, texts };
}

/**
 * A string long enough to travel on its own. A string with a lone surrogate
 * stays in the JSON text, where the core refuses it as it always has
 * (TextEncoder would turn it into U+FFFD instead); so does every string on
 * engines without `isWellFormed` (browsers before 2023).
 */
function isLongText(value) {
  return typeof value === "string" && value.length >= LONG_TEXT && value.isWellFormed?.() === true;
}

/** An object JSON.stringify would write key by key (no toJSON, no class). */
function isPlainObject(value) {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && !("toJSON" in value);
}
