// Sign-in to the gateway with the connected wallet (EIP-4361), shared by every page that reads
// through the gateway: heart data, onboarding, the doctor's list, erasure, buyer reads.
import { useCallback, useState } from 'react';
import { useDapp } from '../context';
import { describeError } from '../lib/errors';

export function useGatewaySession() {
  const { wallet, gateway } = useDapp();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [, bump] = useState(0);
  const signIn = useCallback(async () => {
    if (!wallet.client || !wallet.account) return false;
    setBusy(true);
    setError(null);
    try {
      await gateway.signIn(wallet.account, (message) => wallet.client!.signMessage({ account: wallet.account!, message }));
      bump((n) => n + 1);
      return true;
    } catch (caught) {
      setError(describeError(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }, [wallet, gateway]);
  return { signedIn: gateway.signedInAs(wallet.account), signIn, error, busy };
}
