// How a TI object crosses into WebAssembly (ehrchain-wasm/src/ti.rs): as JSON
// text, except its long texts. Node 20's JSON.stringify writes a 256 KiB
// string at well under 1 GB/s, while TextEncoder.encodeInto copies it into
// WebAssembly memory several times faster; a long clinical note would
// otherwise cost more to stringify than to seal.

/** Strings in `fields` from this many UTF-16 units on travel on their own. */
const LONG_TEXT = 4096;
/**
 * Long texts travel on their own only while they total at most this many
 * UTF-16 units (the core's 4 MiB limit on a TI's JSON text): a TI beyond it is
 * stringified whole, so that the core reports its exact size.
 */
const MAX_TI_JSON_LEN = 4 << 20;

/**
 * Splits a plain TI object into the JSON text of everything but the long
 * texts of its `fields` (left in it as empty strings) and those texts by
 * field name; `names` and `texts` are empty when it has none. Returns
 * `undefined` for anything else (then it is stringified whole). Reads each
 * property once, as JSON.stringify would; throws what JSON.stringify throws
 * (a BigInt, a cycle, a getter that throws).
 */
export function splitLongTexts(ti) {
  if (!isPlainObject(ti)) return undefined;
  const top = Object.entries(ti);
  const names = [];
  const texts = [];
  const at = top.findIndex(([key]) => key === "fields");
  if (at >= 0 && isPlainObject(top[at][1])) {
    const entries = Object.entries(top[at][1]);
    let units = 0;
    for (const entry of entries) {
      if (isLongText(entry[1]) && units + entry[1].length <= MAX_TI_JSON_LEN) {
        units += entry[1].length;
        names.push(entry[0]);
        texts.push(entry[1]);
        entry[1] = "";
      }
    }
    top[at][1] = Object.fromEntries(entries);
  }
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
