// The patient's own heart data; a wallet the gateway knows no wearable for is pointed to onboarding.
import { useDapp } from '../../context';
import { SignInGate } from '../../components/SignInGate';
import { useGatewaySession } from '../../hooks/useGatewaySession';
import { useProfile } from '../../hooks/useProfile';
import { hrefOf } from '../../lib/routes';
import { HeartPanel } from '../heart/HeartPanel';

export function HeartPage({ at }: { at?: number }) {
  const { wallet } = useDapp();
  const session = useGatewaySession();
  const { profile } = useProfile(session.signedIn);
  return (
    <section className="card wide" aria-labelledby="heart-title">
      <h2 id="heart-title">Your heart rate, screening and alerts</h2>
      <SignInGate why="Your windows are encrypted in the record store; sign in to the gateway with your wallet to read them." action="Sign in to read my heart data">
        {profile && profile.devices.length === 0 && (
          <p className="tx tx-pending" role="status" data-testid="no-device">
            No wearable is paired with this wallet yet. <a href={hrefOf({ name: 'onboarding' })}>Set up your account</a> to start recording.
          </p>
        )}
        {wallet.account && <HeartPanel owner={wallet.account} at={at} />}
      </SignInGate>
    </section>
  );
}
