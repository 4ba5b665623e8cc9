// The browser entry of the ehrchain package: fetches and instantiates the
// WebAssembly module next to this file (top-level await), so the package is
// ready once imported.
import init from "./ehrchain_wasm.js";

await init({ module_or_path: new URL("./ehrchain_wasm_bg.wasm", import.meta.url) });

export * from "./api.js";
