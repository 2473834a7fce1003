// Sign-in to the gateway with the connected wallet (EIP-4361), shared by every page that reads
// through the gateway: heart data, onboarding, the doctor's list, erasure, buyer reads.
import { useCallback, useState, useSyncExternalStore } from 'react';
import { useDapp } from '../context';
import { describeError } from '../lib/errors';

export function useGatewaySession() {
  const { wallet, gateway } = useDapp();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Every view re-renders when this client signs in or out, wherever that happened.
  const sessionOwner = useSyncExternalStore(gateway.onSessionChange, gateway.sessionOwner);
  const signIn = useCallback(async () => {
    if (!wallet.client || !wallet.account) return false;
    setBusy(true);
    setError(null);
    try {
      await gateway.signIn(wallet.account, (message) => wallet.client!.signMessage({ account: wallet.account!, message }));
      return true;
    } catch (caught) {
      setError(describeError(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }, [wallet, gateway]);
  const signedIn = wallet.account !== null && wallet.account !== undefined && sessionOwner === wallet.account.toLowerCase();
  return { signedIn, signIn, error, busy };
}
