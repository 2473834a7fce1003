// useLedgerEvents against a real anvil with PulseLedger deployed from the ape build output: every
// event since the deployment block arrives, in chain order, also when the history is read in
// chunks smaller than the chain (logRangeBlocks 2), and new events keep arriving by polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderHook, waitFor } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletClient, http, parseEther, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { pulseLedgerAbi } from '../src/contracts/PulseLedger';
import { useLedgerEvents } from '../src/hooks/useLedgerEvents';
import { chainOf, defaultConfig, publicClientOf, type AppConfig } from '../src/lib/config';

const REPO = resolve(__dirname, '..', '..');
const ANVIL = resolve(REPO, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil');
// anvil's first well-known development key (public; funded by anvil at start).
const owner = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
let anvil: ChildProcess;
let config: AppConfig;

beforeAll(async () => {
  anvil = spawn(ANVIL, ['--host', '127.0.0.1', '--port', '0', '--accounts', '1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const rpcUrl = await new Promise<string>((ok, fail) => {
    let out = '';
    anvil.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/Listening on (127\.0\.0\.1:\d+)/);
      if (match) ok(`http://${match[1]}`);
    });
    anvil.on('exit', (code) => fail(new Error(`anvil exited ${code}`)));
  });
  const artifact = JSON.parse(readFileSync(resolve(REPO, '.build/__local__.json'), 'utf8')).contractTypes.PulseLedger;
  const base = { ...defaultConfig, chainId: 31337, rpcUrl, pollIntervalMs: 50, logRangeBlocks: 2 };
  const wallet = createWalletClient({ account: owner, chain: chainOf(base), transport: http(rpcUrl) });
  const client = publicClientOf(base);
  const hash = await wallet.deployContract({ abi: pulseLedgerAbi, bytecode: artifact.deploymentBytecode.bytecode as Hex, args: [owner.address, 3600] });
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  config = { ...base, contract: receipt.contractAddress!, deploymentBlock: Number(receipt.blockNumber) };
}, 30000);

afterAll(() => {
  anvil?.kill('SIGTERM');
});

async function setPrice(dataClass: number, eth: string) {
  const wallet = createWalletClient({ account: owner, chain: chainOf(config), transport: http(config.rpcUrl) });
  const client = publicClientOf(config);
  const hash = await wallet.writeContract({ address: config.contract!, abi: pulseLedgerAbi, functionName: 'setPrice', args: [dataClass, parseEther(eth)] });
  await client.waitForTransactionReceipt({ hash, pollingInterval: 20 });
}

describe('useLedgerEvents', () => {
  it('reads the history in chunks, then follows new events', async () => {
    for (let i = 0; i < 5; i++) await setPrice(i % 3, `0.00${i + 1}`); // five blocks, more than one chunk
    const client = publicClientOf(config);
    const { result, unmount } = renderHook(() => useLedgerEvents(client, config));
    // The deployment's own events (ownership, gateway, delivery window) come first.
    await waitFor(() => expect(result.current.events.filter((e) => e.eventName === 'PriceSet')).toHaveLength(5), { timeout: 10000 });
    expect(result.current.events.filter((e) => e.eventName === 'PriceSet').map((e) => e.args.price)).toEqual(
      ['0.001', '0.002', '0.003', '0.004', '0.005'].map((v) => parseEther(v)),
    );
    await setPrice(2, '0.5');
    await waitFor(() => expect(result.current.events.filter((e) => e.eventName === 'PriceSet')).toHaveLength(6), { timeout: 10000 });
    const blocks = result.current.events.map((e) => e.blockNumber);
    expect(blocks).toEqual([...blocks].sort((a, b) => Number(a - b)));
    expect(result.current.error).toBeNull();
    unmount();
  }, 30000);
});
