// What every view needs, built once: config, the read client, the wallet, the gateway and the event feed.
import { createContext, useContext, useMemo, type ReactNode } from 'react';
import type { PublicClient } from 'viem';
import { useLedgerEvents, type LedgerEvents } from './hooks/useLedgerEvents';
import { useWallet, type WalletState } from './hooks/useWallet';
import { publicClientOf, type AppConfig } from './lib/config';
import { GatewayClient } from './lib/gateway';
import { readerFor, writerFor, type Reader, type Writer } from './lib/ledger';

export interface Dapp {
  config: AppConfig;
  publicClient: PublicClient;
  wallet: WalletState;
  gateway: GatewayClient;
  ledger: LedgerEvents;
  write: Writer | null;
  /** Typed view calls on PulseLedger; null until a deployment is configured. */
  read: Reader | null;
}

const DappContext = createContext<Dapp | null>(null);

export function DappProvider({ config, children }: { config: AppConfig; children: ReactNode }) {
  const publicClient = useMemo(() => publicClientOf(config), [config]);
  const gateway = useMemo(() => new GatewayClient(config.gatewayUrl), [config]);
  const wallet = useWallet(config);
  const ledger = useLedgerEvents(publicClient, config);
  const write = useMemo(
    () => (wallet.client && wallet.status === 'ready' && config.contract ? writerFor(publicClient, wallet.client, config.contract) : null),
    [wallet.client, wallet.status, publicClient, config],
  );
  const read = useMemo(() => (config.contract ? readerFor(publicClient, config.contract) : null), [publicClient, config]);
  return <DappContext.Provider value={{ config, publicClient, wallet, gateway, ledger, write, read }}>{children}</DappContext.Provider>;
}

export function useDapp(): Dapp {
  const dapp = useContext(DappContext);
  if (!dapp) throw new Error('useDapp outside <DappProvider>');
  return dapp;
}
