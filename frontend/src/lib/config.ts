// One place for chains and transports. Defaults come from the generated deployment and Vite env;
// an optional /config.json served beside the app overrides them at runtime (the e2e harness and
// `pulseledger up` users point the same build at a fresh chain, or reads at the SigV4 proxy).
import { createPublicClient, defineChain, http, type Chain, type PublicClient } from 'viem';
import { generatedDeployment } from '../contracts/deployments';

export type Address = `0x${string}`;

export interface AppConfig {
  chainId: number;
  chainName: string;
  /** JSON-RPC for reads and log polling: anvil directly, or the SigV4 proxy in front of a node. */
  rpcUrl: string;
  transport: 'direct' | 'sigv4-proxy';
  gatewayUrl: string;
  contract: Address | null;
  deploymentBlock: number;
  /** How often logs and views are polled (ms); tests set it small. */
  pollIntervalMs: number;
  /** Blocks per eth_getLogs call (the proxy refuses ranges over its MAX_LOG_BLOCK_RANGE, 2000). */
  logRangeBlocks: number;
}

const env = import.meta.env ?? {};

export const defaultConfig: AppConfig = {
  chainId: generatedDeployment?.chainId ?? Number(env.VITE_CHAIN_ID ?? 31337),
  chainName: env.VITE_CHAIN_NAME ?? 'PulseLedger local (anvil)',
  rpcUrl: env.VITE_RPC_URL ?? 'http://127.0.0.1:8545',
  transport: env.VITE_TRANSPORT === 'sigv4-proxy' ? 'sigv4-proxy' : 'direct',
  gatewayUrl: env.VITE_GATEWAY_URL ?? 'http://127.0.0.1:8600',
  contract: generatedDeployment?.address ?? null,
  deploymentBlock: generatedDeployment?.deploymentBlock ?? 0,
  pollIntervalMs: Number(env.VITE_POLL_INTERVAL_MS ?? 2000),
  logRangeBlocks: 2000,
};

export function mergeConfig(base: AppConfig, override: Partial<AppConfig> | null | undefined): AppConfig {
  const merged = { ...base, ...(override ?? {}) };
  if (merged.transport !== 'direct' && merged.transport !== 'sigv4-proxy') {
    throw new Error(`config: transport must be "direct" or "sigv4-proxy", not ${String(merged.transport)}`);
  }
  if (!Number.isInteger(merged.chainId) || merged.chainId <= 0) throw new Error('config: chainId must be a positive integer');
  return merged;
}

/** Reads /config.json if the host serves one; a missing file keeps the defaults. */
export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<AppConfig> {
  try {
    const response = await fetchImpl('./config.json', { cache: 'no-store' });
    if (!response.ok) return defaultConfig;
    return mergeConfig(defaultConfig, (await response.json()) as Partial<AppConfig>);
  } catch {
    return defaultConfig;
  }
}

export function chainOf(config: AppConfig): Chain {
  return defineChain({
    id: config.chainId,
    name: config.chainName,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
}

export function publicClientOf(config: AppConfig): PublicClient {
  return createPublicClient({
    chain: chainOf(config),
    // Batches stay within the proxy's MAX_BATCH_SIZE (20).
    transport: http(config.rpcUrl, { batch: { batchSize: 20 }, retryCount: 1 }),
    pollingInterval: config.pollIntervalMs,
  }) as PublicClient;
}
