// `#/patients/0x…`, where alert emails link: the patient's data for their linked doctor, or the
// patient's own page when the patient opens it. The gateway decides who may read (403 otherwise).
import { useDapp } from '../../context';
import { SignInGate } from '../../components/SignInGate';
import type { Address } from '../../lib/config';
import { hrefOf } from '../../lib/routes';
import { HeartPanel } from '../heart/HeartPanel';

export function PatientPage({ address, at }: { address: Address; at?: number }) {
  const { wallet } = useDapp();
  const own = wallet.account?.toLowerCase() === address.toLowerCase();
  return (
    <section className="card wide" aria-labelledby="patient-title">
      <h2 id="patient-title">{own ? 'Your heart rate, screening and alerts' : <>Patient <code>{address}</code></>}</h2>
      {!own && <p className="muted">What the gateway lets a linked doctor see: windows, screening results and alerts, live. Contact details and purchases stay the patient’s. <a href={hrefOf({ name: 'doctor' })}>All my patients</a></p>}
      <SignInGate why={own ? 'Sign in with your wallet to read your heart data.' : 'Sign in with your wallet: the gateway shows this patient’s data only to their linked doctor.'} action={own ? 'Sign in to read my heart data' : 'Sign in as doctor'}>
        <HeartPanel owner={address} at={at} />
      </SignInGate>
    </section>
  );
}
