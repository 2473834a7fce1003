// What the dapp will do, through the proxy: read chain state with viem, then sign a transaction
// locally and send it raw. Prints one JSON line; the pytest test checks it against anvil.
// Usage: node viem_client.mjs <proxyUrl> <senderKey> <to>
import { createPublicClient, createWalletClient, http, parseGwei } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";

const [proxyUrl, senderKey, to] = process.argv.slice(2);
const transport = http(proxyUrl, { retryCount: 0 });
const publicClient = createPublicClient({ chain: foundry, transport });
const account = privateKeyToAccount(senderKey);
const walletClient = createWalletClient({ account, chain: foundry, transport });

const chainId = await publicClient.getChainId();
const blockNumber = await publicClient.getBlockNumber();
const balanceBefore = await publicClient.getBalance({ address: to });
const hash = await walletClient.sendTransaction({ to, value: 7n, maxFeePerGas: parseGwei("20") });
const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
const balanceAfter = await publicClient.getBalance({ address: to });

let denied = null;
try {
  await publicClient.request({ method: "eth_accounts" });
} catch (error) {
  denied = { name: error.name, code: error.code ?? null };
}

console.log(
  JSON.stringify({
    chainId,
    blockNumber: blockNumber.toString(),
    hash,
    status: receipt.status,
    from: receipt.from,
    to: receipt.to,
    balanceBefore: balanceBefore.toString(),
    balanceAfter: balanceAfter.toString(),
    denied,
  }),
);
