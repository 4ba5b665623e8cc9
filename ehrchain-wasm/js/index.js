// The Node entry of the ehrchain package: loads the WebAssembly module
// synchronously from this directory, so the package is ready once imported.
import { readFileSync } from "node:fs";
import { initSync } from "./ehrchain_wasm.js";

initSync({ module: readFileSync(new URL("./ehrchain_wasm_bg.wasm", import.meta.url)) });

export * from "./api.js";
