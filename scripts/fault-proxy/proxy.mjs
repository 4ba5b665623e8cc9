// A fault-injecting JSON-RPC proxy for the fault tests (contracts/tests/faults.rs,
// examples/tests/pipeline_faults.rs; started by scripts/fault-proxy/proxy.rs):
// listens on 127.0.0.1 (loopback only) on a free port, forwards each POST to
// the upstream node, and spoils a seeded share of the requests the way real
// networks and nodes fail. It prints `listening <port>` once ready and exits
// after `--lifetime` seconds at the latest (bounded: a test that dies leaves
// no proxy behind for long).
//
// Usage: node proxy.mjs <upstream-url> <fault> <share 0..1> <seed> [--lifetime s] [--pass-first n]
//   (--pass-first n: the first n requests pass unspoiled, the client's
//   connection check, say; then `share` of the others are spoiled)
//   refuse       the connection is reset before the request is read
//   blackhole    the request is read and never answered (until the client gives up)
//   delay        the answer comes 0.5 s late (within the client's time-out)
//   drop-answer  the node acts on the request, the answer is thrown away
//   duplicate    the request reaches the node twice (a network or balancer
//                retrying it), the first answer comes back
//   http-500     the proxy answers 500 Internal Server Error
//   garbage      the proxy answers 200 with a body that is not JSON
//   none         every request passes
import http from "node:http";

const [upstream, fault, shareText, seedText, ...rest] = process.argv.slice(2);
const FAULTS = ["refuse", "blackhole", "delay", "drop-answer", "duplicate", "http-500", "garbage", "none"];
if (!upstream || !FAULTS.includes(fault)) {
  console.error(`usage: node proxy.mjs <upstream-url> <${FAULTS.join("|")}> <share> <seed> [--lifetime s] [--pass-first n]`);
  process.exit(2);
}
const share = Number(shareText ?? "0.3");
const option = (name, fallback) => (rest.includes(name) ? Number(rest[rest.indexOf(name) + 1]) : fallback);
const lifetime = option("--lifetime", 600) || 600;
const passFirst = option("--pass-first", 0) || 0;

// xorshift32: the same seed spoils the same requests.
let state = (Number(seedText ?? 1) >>> 0) || 1;
const random = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
};

const counts = { requests: 0, spoiled: 0 };

async function forward(body) {
  const answer = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
  return { status: answer.status, text: await answer.text() };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    counts.requests += 1;
    const body = Buffer.concat(chunks).toString("utf8");
    const spoil = fault !== "none" && counts.requests > passFirst && random() < share;
    if (spoil) counts.spoiled += 1;
    try {
      if (spoil && fault === "refuse") return req.socket.destroy();
      if (spoil && fault === "blackhole") return; // never answered
      if (spoil && fault === "http-500") return res.writeHead(500).end("Internal Server Error");
      if (spoil && fault === "garbage") return res.writeHead(200, { "content-type": "application/json" }).end("<html>oops");
      const answer = await forward(body);
      if (spoil && fault === "duplicate") await forward(body).catch(() => {});
      if (spoil && fault === "drop-answer") return req.socket.destroy();
      if (spoil && fault === "delay") await new Promise((r) => setTimeout(r, 500));
      res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.text);
    } catch (e) {
      res.writeHead(502).end(String(e?.message ?? e));
    }
  });
});

server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
setTimeout(() => process.exit(0), lifetime * 1000).unref();
process.on("SIGTERM", () => {
  console.error(`fault-proxy: ${counts.spoiled} of ${counts.requests} requests spoiled (${fault})`);
  process.exit(0);
});
