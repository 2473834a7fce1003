import { useSyncExternalStore } from 'react';
import { useDapp } from '../context';
import { shortAddress } from '../lib/domain';

export function WalletBar() {
  const { wallet, config, gateway } = useDapp();
  const sessionOwner = useSyncExternalStore(gateway.onSessionChange, gateway.sessionOwner);
  // Signing out ends the gateway session on every replica; the views behind a sign-in close.
  const signOut = () => gateway.signOut();
  return (
    <div className="wallet" data-testid="wallet-status" data-status={wallet.status}>
      {wallet.status === 'no-wallet' && (
        <span role="status">No wallet found. Install an Ethereum wallet extension (any EIP-6963 or EIP-1193 wallet) and reload.</span>
      )}
      {wallet.status === 'disconnected' &&
        wallet.wallets.map((found) => (
          <button key={found.info.uuid} className="btn" onClick={() => wallet.connect(found)}>
            Connect {found.info.name}
          </button>
        ))}
      {wallet.status === 'connecting' && <span role="status">Connecting… approve in your wallet.</span>}
      {wallet.status === 'wrong-chain' && (
        <span role="alert">
          Wrong network (chain {wallet.chainId}); PulseLedger runs on {config.chainName} ({config.chainId}).{' '}
          <button className="btn" onClick={wallet.switchChain}>Switch network</button>
        </span>
      )}
      {wallet.status === 'ready' && wallet.account && (
        <span className="chip" title={wallet.account} data-testid="account">{shortAddress(wallet.account)} · chain {wallet.chainId}</span>
      )}
      {wallet.status === 'ready' && wallet.account && sessionOwner === wallet.account.toLowerCase() && (
        <button className="sign-out" onClick={() => void signOut()} data-testid="sign-out">Sign out</button>
      )}
      {wallet.error && <p className="tx tx-failed" role="alert">{wallet.error}</p>}
    </div>
  );
}
