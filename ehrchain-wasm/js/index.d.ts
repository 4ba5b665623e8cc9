// Types of the ehrchain package (both entries: Node and browsers).
export * from "./ehrchain_wasm.js";
export * from "./eip1193.js";
