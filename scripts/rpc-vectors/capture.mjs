// Captures real JSON-RPC answers of a development node for docs/vectors/rpc.json:
// `node capture.mjs <url> <node-name>` prints a JSON array of
// {name, node, request, httpStatus, answer}. It deploys EhrRegistry from the
// committed artifact, then provokes the answers the core's RPC policy must
// classify: a view call's result, a custom-error revert in eth_call and in
// eth_estimateGas (AccessControlUnauthorizedAccount, carrying a role hash),
// the send of a transaction that reverts when mined, its receipt, an unknown
// method and a missing params member.
import { readFileSync } from "node:fs";

const [url, nodeName] = process.argv.slice(2);
const artifact = JSON.parse(readFileSync(new URL("../../contracts/artifacts/EhrRegistry.json", import.meta.url)));
const out = [];
let id = 0;

async function raw(name, body) {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await response.text();
  const answer = JSON.parse(text);
  if (name) out.push({ name, node: nodeName, request: body, httpStatus: response.status, answer });
  return answer;
}
const rpc = (name, method, params) => raw(name, { jsonrpc: "2.0", id: ++id, method, params });

const [admin, outsider] = (await rpc(null, "eth_accounts", [])).result;
const deployed = await rpc(null, "eth_sendTransaction", [{ from: admin, data: artifact.bytecode, gas: "0x4c4b40" }]);
let receipt;
for (let i = 0; i < 200 && !receipt; i += 1) {
  receipt = (await rpc(null, "eth_getTransactionReceipt", [deployed.result])).result;
  if (!receipt) await new Promise((r) => setTimeout(r, 100));
}
const registry = receipt.contractAddress;
// grantRole(ADMIN_ROLE, outsider) from the outsider: reverts with
// AccessControlUnauthorizedAccount(outsider, DEFAULT_ADMIN_ROLE = 0x00…).
const pad = (hex) => hex.replace(/^0x/, "").toLowerCase().padStart(64, "0");
const adminRole = (await rpc(null, "eth_call", [{ to: registry, data: "0x75b238fc" }, "latest"])).result;
const grant = `0x2f2ff15d${pad(adminRole)}${pad(outsider)}`;
await rpc("view call result", "eth_call", [{ to: registry, data: "0x75b238fc" }, "latest"]);
await rpc("view call revert", "eth_call", [{ from: outsider, to: registry, data: grant }, "latest"]);
await rpc("estimate revert", "eth_estimateGas", [{ from: outsider, to: registry, data: grant }]);
const sent = await rpc("send mined revert", "eth_sendTransaction", [{ from: outsider, to: registry, data: grant, gas: "0x7a120" }]);
const hash = sent.result ?? sent.error?.data?.txHash ?? sent.error?.data?.hash;
if (hash) {
  let mined;
  for (let i = 0; i < 200 && !mined; i += 1) {
    mined = (await rpc(null, "eth_getTransactionReceipt", [hash])).result;
    if (!mined) await new Promise((r) => setTimeout(r, 100));
  }
  await rpc("reverted receipt", "eth_getTransactionReceipt", [hash]);
  await rpc("replay at block", "eth_call", [{ from: outsider, to: registry, data: grant, gas: "0x7a120" }, mined.blockNumber]);
}
await rpc("unknown method", "ehr_noSuchMethod", []);
await raw("null params", { jsonrpc: "2.0", id: ++id, method: "evm_mine", params: null });
await rpc("unknown receipt", "eth_getTransactionReceipt", [`0x${"ab".repeat(32)}`]);
console.log(JSON.stringify(out, null, 1));
