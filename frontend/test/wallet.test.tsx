// Wallet discovery and the useWallet states, with an in-page EIP-1193 provider (the same shape an
// extension injects) announced over EIP-6963 on jsdom's window.
import { act, renderHook, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { useWallet } from '../src/hooks/useWallet';
import { defaultConfig } from '../src/lib/config';
import { discoverWallets, type DiscoveredWallet } from '../src/lib/wallet';

const ADDRESS = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';

function inPageWallet(options: { chainId: number; rejectConnect?: boolean; knowsChain?: boolean }) {
  const calls: string[] = [];
  let chainId = options.chainId;
  const provider = {
    async request({ method, params }: { method: string; params?: unknown[] }) {
      calls.push(method);
      if (method === 'eth_requestAccounts') {
        if (options.rejectConnect) throw Object.assign(new Error('User rejected the request.'), { code: 4001 });
        return [ADDRESS];
      }
      if (method === 'eth_chainId') return `0x${chainId.toString(16)}`;
      if (method === 'wallet_switchEthereumChain') {
        if (!options.knowsChain) throw Object.assign(new Error('Unrecognized chain'), { code: 4902 });
        chainId = Number((params![0] as { chainId: string }).chainId);
        return null;
      }
      if (method === 'wallet_addEthereumChain') {
        chainId = Number((params![0] as { chainId: string }).chainId);
        return null;
      }
      throw new Error(`unexpected ${method}`);
    },
  };
  const wallet = { info: { uuid: 'u1', name: 'In-page wallet', icon: '', rdns: 'test.inpage' }, provider } as unknown as DiscoveredWallet;
  return { wallet, calls };
}

describe('discoverWallets', () => {
  it('collects EIP-6963 announcements, ignoring malformed ones', () => {
    const seen: DiscoveredWallet[][] = [];
    const { wallet } = inPageWallet({ chainId: 1 });
    const announce = () => {
      window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: wallet }));
      window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: { info: {}, provider: null } }));
    };
    window.addEventListener('eip6963:requestProvider', announce);
    const stop = discoverWallets((wallets) => seen.push(wallets));
    window.removeEventListener('eip6963:requestProvider', announce);
    stop();
    expect(seen.at(-1)!.map((w) => w.info.name)).toEqual(['In-page wallet']);
  });

  it('reports no wallet when nothing is injected', () => {
    const seen: DiscoveredWallet[][] = [];
    discoverWallets((wallets) => seen.push(wallets))();
    expect(seen.at(-1)).toEqual([]);
  });
});

describe('useWallet', () => {
  const config = { ...defaultConfig, chainId: 31337 };

  it('goes no wallet → disconnected → wrong chain → ready (adding the chain when unknown)', async () => {
    const { wallet, calls } = inPageWallet({ chainId: 1, knowsChain: false });
    let publish: (wallets: DiscoveredWallet[]) => void = () => {};
    const discover = (onChange: (wallets: DiscoveredWallet[]) => void) => { publish = onChange; onChange([]); return () => {}; };
    const { result } = renderHook(() => useWallet(config, discover));
    expect(result.current.status).toBe('no-wallet');
    act(() => publish([wallet]));
    expect(result.current.status).toBe('disconnected');
    await act(() => result.current.connect());
    expect(result.current.status).toBe('wrong-chain');
    expect(result.current.account).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    await act(() => result.current.switchChain());
    await waitFor(() => expect(result.current.status).toBe('ready'));
    expect(calls).toContain('wallet_addEthereumChain');
    expect(result.current.client?.account?.address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
  });

  it('explains a rejected connection and stays disconnected', async () => {
    const { wallet } = inPageWallet({ chainId: 31337, rejectConnect: true });
    const discover = (onChange: (wallets: DiscoveredWallet[]) => void) => { onChange([wallet]); return () => {}; };
    const { result } = renderHook(() => useWallet(config, discover));
    await act(() => result.current.connect());
    expect(result.current.status).toBe('disconnected');
    expect(result.current.error).toMatch(/You rejected the request in your wallet/);
  });
});
