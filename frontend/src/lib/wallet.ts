// Injected wallet discovery: EIP-6963 announcements first (several wallets side by side), the
// legacy window.ethereum (EIP-1193) as a fallback.
import type { EIP1193Provider } from 'viem';

export interface WalletInfo { uuid: string; name: string; icon: string; rdns: string }
export interface DiscoveredWallet { info: WalletInfo; provider: EIP1193Provider }

interface AnnounceEvent extends Event { detail: DiscoveredWallet }

export function discoverWallets(onChange: (wallets: DiscoveredWallet[]) => void, target: Window = window): () => void {
  const found = new Map<string, DiscoveredWallet>();
  const publish = () => onChange([...found.values()]);
  const onAnnounce = (event: Event) => {
    const { detail } = event as AnnounceEvent;
    if (!detail?.info?.uuid || typeof detail.provider?.request !== 'function') return;
    found.set(detail.info.uuid, detail);
    publish();
  };
  target.addEventListener('eip6963:announceProvider', onAnnounce);
  target.dispatchEvent(new Event('eip6963:requestProvider'));
  const legacy = (target as unknown as { ethereum?: EIP1193Provider }).ethereum;
  if (legacy && found.size === 0) {
    found.set('legacy', { info: { uuid: 'legacy', name: 'Browser wallet', icon: '', rdns: 'window.ethereum' }, provider: legacy });
  }
  publish();
  return () => target.removeEventListener('eip6963:announceProvider', onAnnounce);
}
