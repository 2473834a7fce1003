// Wallet state over an EIP-1193 provider: discovery, connect, account and chain changes, switching.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { createWalletClient, custom, getAddress, numberToHex, type EIP1193Provider, type WalletClient } from 'viem';
import { chainOf, type Address, type AppConfig } from '../lib/config';
import { describeError } from '../lib/errors';
import { discoverWallets, type DiscoveredWallet } from '../lib/wallet';

export type WalletStatus = 'no-wallet' | 'disconnected' | 'connecting' | 'wrong-chain' | 'ready';

export interface WalletState {
  status: WalletStatus;
  wallets: DiscoveredWallet[];
  account: Address | null;
  chainId: number | null;
  error: string | null;
  client: WalletClient | null;
  connect: (wallet?: DiscoveredWallet) => Promise<void>;
  switchChain: () => Promise<void>;
}

interface ProviderEvents {
  on?: (event: string, listener: (...args: unknown[]) => void) => void;
  removeListener?: (event: string, listener: (...args: unknown[]) => void) => void;
}

export function useWallet(config: AppConfig, discover = discoverWallets): WalletState {
  const [wallets, setWallets] = useState<DiscoveredWallet[]>([]);
  const [active, setActive] = useState<DiscoveredWallet | null>(null);
  const [account, setAccount] = useState<Address | null>(null);
  const [chainId, setChainId] = useState<number | null>(null);
  const [connecting, setConnecting] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => discover(setWallets), [discover]);

  useEffect(() => {
    const provider = active?.provider as (EIP1193Provider & ProviderEvents) | undefined;
    if (!provider?.on) return;
    const onAccounts = (...args: unknown[]) => {
      const accounts = args[0] as string[];
      setAccount(accounts?.[0] ? getAddress(accounts[0]) : null);
    };
    const onChain = (...args: unknown[]) => setChainId(Number(args[0] as string));
    provider.on('accountsChanged', onAccounts);
    provider.on('chainChanged', onChain);
    return () => {
      provider.removeListener?.('accountsChanged', onAccounts);
      provider.removeListener?.('chainChanged', onChain);
    };
  }, [active]);

  const connect = useCallback(async (wallet?: DiscoveredWallet) => {
    const chosen = wallet ?? wallets[0];
    if (!chosen) return;
    setConnecting(true);
    setError(null);
    try {
      const accounts = (await chosen.provider.request({ method: 'eth_requestAccounts' })) as string[];
      const chain = (await chosen.provider.request({ method: 'eth_chainId' })) as string;
      setActive(chosen);
      setAccount(accounts[0] ? getAddress(accounts[0]) : null);
      setChainId(Number(chain));
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setConnecting(false);
    }
  }, [wallets]);

  const switchChain = useCallback(async () => {
    if (!active) return;
    setError(null);
    const hexId = numberToHex(config.chainId);
    try {
      await active.provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: hexId }] });
    } catch (caught) {
      if ((caught as { code?: number }).code !== 4902) {
        setError(describeError(caught));
        return;
      }
      try {
        await active.provider.request({
          method: 'wallet_addEthereumChain',
          params: [{ chainId: hexId, chainName: config.chainName, rpcUrls: [config.rpcUrl], nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 } }],
        });
      } catch (addError) {
        setError(describeError(addError));
        return;
      }
    }
    setChainId(Number((await active.provider.request({ method: 'eth_chainId' })) as string));
  }, [active, config]);

  const client = useMemo(
    () => (active && account ? createWalletClient({ account, chain: chainOf(config), transport: custom(active.provider) }) : null),
    [active, account, config],
  );

  let status: WalletStatus;
  if (connecting) status = 'connecting';
  else if (!active || !account) status = wallets.length === 0 ? 'no-wallet' : 'disconnected';
  else if (chainId !== config.chainId) status = 'wrong-chain';
  else status = 'ready';

  return { status, wallets, account, chainId, error, client, connect, switchChain };
}
