// The peer of the anchoring pipeline (scripts/bench-anchoring.sh): what a
// developer writes today with viem to anchor records: `writeContract` the
// registry's anchorRecord, then `waitForTransactionReceipt`, one after the
// other, and the same with `Promise.all` over many at once. Against the same
// node and registry as the gateways, from its own unlocked account (granted
// the device role). Prints one JSON line per mode: TIs anchored per second
// and the latency percentiles of a confirmed receipt.
//
//   node benches/peers/anchoring.mjs <rpc-url> <registry> <account index>
//        <template id> <seconds> <concurrency> [confirmations, default 2]
import { createPublicClient, createWalletClient, http, keccak256, parseAbi, toHex } from "viem";
import { randomBytes } from "node:crypto";

const [url, registry, accountIndex, templateId, seconds, concurrency, confirmations = "2"] = process.argv.slice(2);
const transport = http(url);
const publicClient = createPublicClient({ transport });
const [account] = (await publicClient.request({ method: "eth_accounts" })).slice(Number(accountIndex));
const wallet = createWalletClient({ account, transport });
const abi = parseAbi([
  "function anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash, uint64 timestamp, bytes32 role)",
]);
const role = keccak256(toHex("DEVICE_ROLE"));
const chain = { id: await publicClient.getChainId(), name: "bench", nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [url] } } };

/** One record anchored the usual way: send, then wait for its receipt. */
async function anchorOne() {
  const started = performance.now();
  const hash = await wallet.writeContract({
    chain, address: registry, abi, functionName: "anchorRecord",
    args: [toHex(randomBytes(32)), templateId, toHex(randomBytes(32)), toHex(randomBytes(32)), BigInt(Math.floor(Date.now() / 1000)), role],
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, confirmations: Number(confirmations), pollingInterval: 100 });
  if (receipt.status !== "success") throw new Error(`reverted: ${hash}`);
  return performance.now() - started;
}

async function run(mode, lanes) {
  const latencies = [];
  const end = performance.now() + Number(seconds) * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (performance.now() < end) latencies.push(await anchorOne());
  }));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pick = (p) => latencies[Math.floor((latencies.length - 1) * p)] ?? 0;
  console.log(JSON.stringify({ mode, lanes, tis: latencies.length, seconds: elapsed, tisPerSecond: latencies.length / elapsed, latencyP50Ms: pick(0.5), latencyP99Ms: pick(0.99) }));
}

await run("viem-sequential", 1);
await run("viem-promise-all", Number(concurrency));
