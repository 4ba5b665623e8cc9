// The Hardhat network of the JSON-RPC end-to-end suite (scripts/hardhat-e2e.sh):
// the chain id and hardfork the Ganache run uses, so that one suite and the
// quickstart run unchanged on both nodes. HARDHAT_INTERVAL_MS set: no
// automine, a block every that many milliseconds (real confirmations).
const interval = Number(process.env.HARDHAT_INTERVAL_MS || 0);

module.exports = {
  networks: {
    hardhat: {
      chainId: 1337,
      hardfork: "shanghai",
      blockGasLimit: 30_000_000,
      mining: interval > 0 ? { auto: false, interval } : { auto: true },
    },
  },
};
