import type { ReactNode } from 'react';
import { useDapp } from '../context';
import { useGatewaySession } from '../hooks/useGatewaySession';

/** Renders `children` once the wallet is signed in to the gateway; until then, why and a button. */
export function SignInGate({ why, action, children }: { why: string; action: string; children: ReactNode }) {
  const { wallet } = useDapp();
  const session = useGatewaySession();
  if (session.signedIn) return <>{children}</>;
  return (
    <div className="signin">
      <p>{why}</p>
      <button className="btn" onClick={session.signIn} disabled={!wallet.client || session.busy}>{action}</button>
      {session.busy && <p role="status">Sign the message in your wallet…</p>}
      {session.error && <p className="tx tx-failed" role="alert">{session.error}</p>}
    </div>
  );
}
