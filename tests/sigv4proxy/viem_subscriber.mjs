// A dapp-style subscriber: viem's webSocket transport through the WebSocket proxy, watching new
// blocks by eth_subscribe("newHeads") while anvil mines them (mined directly: the test's job).
// Usage: node viem_subscriber.mjs <wsProxyUrl> <anvilHttpUrl>   → one JSON line
import { createPublicClient, webSocket } from "viem";
import { foundry } from "viem/chains";

const [wsUrl, anvilUrl] = process.argv.slice(2);
const client = createPublicClient({ chain: foundry, transport: webSocket(wsUrl, { retryCount: 0 }) });
const mine = () =>
  fetch(anvilUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "evm_mine", params: [] }),
  });

const seen = [];
await new Promise((resolve, reject) => {
  // The chain keeps moving until three heads arrived: however long the subscription takes to be
  // set up (the proxy checks the upstream's chain id first), blocks keep coming after it.
  const miner = setInterval(mine, 200);
  const timer = setTimeout(() => {
    clearInterval(miner);
    reject(new Error(`only saw ${seen}`));
  }, 15000);
  const unwatch = client.watchBlockNumber({
    emitOnBegin: false,
    poll: false, // a real eth_subscribe, not polling
    onBlockNumber: (n) => {
      seen.push(Number(n));
      if (seen.length === 3) {
        unwatch();
        clearInterval(miner);
        clearTimeout(timer);
        resolve();
      }
    },
    onError: reject,
  });
});

let denied = null;
try {
  await client.request({ method: "eth_getBalance", params: ["0x0000000000000000000000000000000000000000", "latest"] });
} catch (error) {
  denied = { name: error.name, code: error.code ?? null };
}
console.log(JSON.stringify({ seen, denied }));
process.exit(0);
