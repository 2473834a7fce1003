// The doctor's patients: those who linked this wallet as their doctor (the gateway answers from
// the signed-in session, so a doctor sees no one else's).
import { useCallback, useEffect, useState } from 'react';
import { useDapp } from '../../context';
import { SignInGate } from '../../components/SignInGate';
import { useGatewaySession } from '../../hooks/useGatewaySession';
import { describeError } from '../../lib/errors';
import { myPatients, type DoctorPatient } from '../../lib/gatewayPatients';
import { hrefOf } from '../../lib/routes';

export function DoctorPage() {
  return (
    <section className="card wide" aria-labelledby="patients-title">
      <h2 id="patients-title">My patients</h2>
      <SignInGate why="Sign in with your wallet: the gateway lists the patients who linked this address as their doctor." action="Sign in as doctor">
        <PatientList />
      </SignInGate>
    </section>
  );
}

function PatientList() {
  const { gateway } = useDapp();
  const session = useGatewaySession();
  const [patients, setPatients] = useState<DoctorPatient[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setPatients(await myPatients(gateway));
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [gateway]);
  useEffect(() => {
    if (session.signedIn) void load();
  }, [session.signedIn, load]);
  if (error) return <p className="tx tx-failed" role="alert">{error}</p>;
  if (!patients) return <p role="status">Reading your patients…</p>;
  if (patients.length === 0) return <p>No patient has linked this wallet as their doctor yet. A patient links you from their account, with this address.</p>;
  return (
    <ul className="list" data-testid="doctor-patients">
      {patients.map((p) => (
        <li key={p.address}>
          <a href={hrefOf({ name: 'patient', address: p.address })}><code>{p.address}</code></a>
          {' · '}{p.devices.length} wearable{p.devices.length === 1 ? '' : 's'}
        </li>
      ))}
    </ul>
  );
}
