// A new patient's way in: pair the wearable by its peer id and its pairing code (typed, pasted, or
// arriving in the link its QR code carries: the code is the device's own consent, so nobody who
// merely read the id can pair it), add contact emails for alerts, link a doctor (or change doctor).
// Each step is an EIP-712 message the wallet signs; nothing costs gas.
import { useState, type FormEvent } from 'react';
import { getAddress, isAddress } from 'viem';
import { useDapp } from '../../context';
import { ContactEmails, EMAIL, waitingFor } from '../../components/ContactEmails';
import { QrCode } from '../../components/QrCode';
import { SignInGate } from '../../components/SignInGate';
import { TxStatus } from '../../components/TxStatus';
import { useProfile } from '../../hooks/useProfile';
import { useSigner } from '../../hooks/useSigner';
import { useTx } from '../../hooks/useTx';
import { useGatewaySession } from '../../hooks/useGatewaySession';
import { describeError } from '../../lib/errors';
import { linkDoctor, pairDevice, setProfile, unpairDevice, type Profile } from '../../lib/gatewayPatients';
import { ed25519KeyOfPeerId, PAIRING_CODE, pairingLink } from '../../lib/peerId';
import { hrefOf } from '../../lib/routes';

export function OnboardingPage({ device, code }: { device?: string; code?: string }) {
  const session = useGatewaySession();
  const { profile, error, reload } = useProfile(session.signedIn);
  // A step with an address still waiting for its mailbox's confirmation is not done: nothing is mailed to it yet.
  const steps = profile ? [profile.devices.length > 0, profile.contacts.length > 0, profile.doctor !== null && profile.doctor.email !== null] : [false, false, false];
  return (
    <div className="grid">
      <section className="card wide" aria-labelledby="onboarding-title">
        <h2 id="onboarding-title">Set up your account</h2>
        <ol className="steps" data-testid="onboarding-steps">
          {['Pair your wearable', 'Where to send alerts', 'Your doctor'].map((label, i) => (
            <li key={label} data-done={steps[i]}>{steps[i] ? '✓' : '○'} {label}</li>
          ))}
        </ol>
        <SignInGate why="Sign in with your wallet first: each step is a message your wallet signs (no gas, nothing on-chain)." action="Sign in to start">
          {!profile ? <p role="status">{error ?? 'Reading your account…'}</p> : (
            <>
              <DeviceStep profile={profile} initial={device} initialCode={code} onDone={reload} />
              <ContactEmails profile={profile} onDone={reload} title="2. Where to send alerts" what="Alerts and notices" />
              <NameStep profile={profile} onDone={reload} />
              <DoctorStep profile={profile} onDone={reload} />
              {steps.every(Boolean) && (
                <p className="tx tx-confirmed" role="status" data-testid="onboarding-done">
                  All set. Your readings arrive on <a href={hrefOf({ name: 'heart' })}>your heart page</a>; decide who may buy what on <a href={hrefOf({ name: 'data-classes' })}>your data and prices</a>.
                </p>
              )}
            </>
          )}
        </SignInGate>
      </section>
    </div>
  );
}

function DeviceStep({ profile, initial, initialCode, onDone }: { profile: Profile; initial?: string; initialCode?: string; onDone: () => void }) {
  const { gateway, publicClient } = useDapp();
  const signer = useSigner();
  const tx = useTx(publicClient);
  const [peerId, setPeerId] = useState(initial ?? '');
  const [code, setCode] = useState(initialCode ?? '');
  const key = ed25519KeyOfPeerId(peerId);
  const codeOk = PAIRING_CODE.test(code.trim());
  const pair = async (event: FormEvent) => {
    event.preventDefault();
    if (!signer) return;
    if (!key) return tx.fail('That is not a wearable’s peer id: it starts with 12D3KooW and is 52 characters long.');
    if (!codeOk) return tx.fail('That is not a pairing code: the wearable shows it beside its id (digits, a dot, then 86 letters, digits, - and _).');
    tx.set('signing', 'Sign the pairing in your wallet…');
    try {
      await pairDevice(gateway, signer, peerId.trim(), key, code.trim());
      tx.set('confirmed', `Wearable ${peerId.trim().slice(0, 16)}… paired: its readings are now stored for you.`);
      onDone();
    } catch (caught) {
      tx.fail(describeError(caught));
    }
  };
  // A wearable replaced, lost or sold: its readings are refused from now on (whoever has it next
  // pairs it with a new code); the windows it sent stay the patient's.
  const unpair = async (deviceId: string) => {
    if (!signer) return;
    tx.set('signing', 'Sign the removal in your wallet…');
    try {
      await unpairDevice(gateway, signer, deviceId);
      tx.set('confirmed', `Wearable ${deviceId.slice(0, 16)}… removed: its readings are no longer stored for you; what it sent stays yours.`);
      onDone();
    } catch (caught) {
      tx.fail(describeError(caught));
    }
  };
  return (
    <section aria-labelledby="device-title" className="step">
      <h3 id="device-title">1. Pair your wearable</h3>
      {profile.devices.length > 0 && (
        <ul className="list" data-testid="paired-devices">
          {profile.devices.map((d) => (
            <li key={d.device_id}>
              Paired: <code>{d.device_id}</code>{' '}
              <button className="btn btn-small" type="button" disabled={!signer} onClick={() => unpair(d.device_id)} aria-label={`Remove wearable ${d.device_id}`}>Remove</button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={pair}>
        <label htmlFor="peer-id">The wearable’s peer id (shown by the device or the simulator, as text and as a QR code)</label>
        <input id="peer-id" value={peerId} onChange={(e) => setPeerId(e.target.value)} placeholder="12D3KooW…" aria-invalid={peerId !== '' && !key} autoComplete="off" spellCheck={false} />
        <label htmlFor="pairing-code">Its pairing code (shown beside the id: the wearable’s consent to be paired, good for a few days)</label>
        <input id="pairing-code" value={code} onChange={(e) => setCode(e.target.value)} placeholder="1796….k3v…" aria-invalid={code !== '' && !codeOk} autoComplete="off" spellCheck={false} />
        {key && codeOk && <QrCode text={pairingLink(window.location.origin + window.location.pathname, peerId.trim(), code.trim())} label={`QR code of the pairing link for ${peerId.trim()}`} />}
        <button className="btn" type="submit" disabled={!signer || !key || !codeOk}>{profile.devices.length ? 'Pair another wearable' : 'Pair this wearable'}</button>
      </form>
      <TxStatus state={tx.state} testId="device-status" />
    </section>
  );
}

const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** Optional: how the doctor's emails name the patient, and the zone of every time in emails and of the burden's days. */
function NameStep({ profile, onDone }: { profile: Profile; onDone: () => void }) {
  const { gateway, publicClient } = useDapp();
  const signer = useSigner();
  const tx = useTx(publicClient);
  const [name, setName] = useState(profile.name ?? '');
  const [zone, setZone] = useState(profile.name === null && profile.time_zone === 'UTC' ? BROWSER_ZONE : profile.time_zone);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!signer) return;
    if (name.length > 80) return tx.fail('A name of at most 80 characters.');
    tx.set('signing', 'Sign your name and time zone in your wallet…');
    try {
      await setProfile(gateway, signer, name.trim(), zone.trim());
      tx.set('confirmed', `Saved: times in your emails are in ${zone.trim()}${name.trim() ? `; your doctor's emails call you “${name.trim()}”` : ''}.`);
      onDone();
    } catch (caught) {
      tx.fail(describeError(caught));
    }
  };
  return (
    <section aria-labelledby="name-title" className="step">
      <h3 id="name-title">Your name and time zone (optional)</h3>
      <form onSubmit={save}>
        <label htmlFor="patient-name">The name your doctor’s alert emails use (never on-chain; empty: a short form of your address)</label>
        <input id="patient-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Ada Lovelace" />
        <label htmlFor="time-zone">Your time zone (for the times in emails and the days of your burden chart)</label>
        <input id="time-zone" value={zone} onChange={(e) => setZone(e.target.value)} placeholder="Europe/Berlin" />
        <button className="btn" type="submit" disabled={!signer}>Save name and zone</button>
      </form>
      <TxStatus state={tx.state} testId="name-status" />
    </section>
  );
}

function DoctorStep({ profile, onDone }: { profile: Profile; onDone: () => void }) {
  const { gateway, publicClient } = useDapp();
  const signer = useSigner();
  const tx = useTx(publicClient);
  const [address, setAddress] = useState(profile.doctor?.address ?? '');
  const waiting = waitingFor(profile, 'doctor')[0];
  const [email, setEmail] = useState(profile.doctor?.email ?? waiting ?? '');
  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!signer) return;
    if (!isAddress(address)) return tx.fail('Enter your doctor’s wallet address (0x followed by 40 hex digits).');
    if (!EMAIL.test(email)) return tx.fail('Enter your doctor’s email address.');
    tx.set('signing', 'Sign the link to your doctor in your wallet…');
    try {
      const linked = await linkDoctor(gateway, signer, getAddress(address), email);
      const former = profile.doctor && profile.doctor.address !== getAddress(address) ? '; your former doctor no longer does' : '';
      tx.set('confirmed', linked.email_confirmed
        ? `Linked: ${getAddress(address).slice(0, 10)}… sees your heart data and gets your alerts${former}.`
        : `Linked: ${getAddress(address).slice(0, 10)}… sees your heart data now, and gets your alerts once they confirm the link we emailed to ${email}${former}.`);
      onDone();
    } catch (caught) {
      tx.fail(describeError(caught));
    }
  };
  return (
    <section aria-labelledby="doctor-title" className="step">
      <h3 id="doctor-title">3. Your doctor</h3>
      {profile.doctor && <p data-testid="linked-doctor">Linked now: <code>{profile.doctor.address}</code> ({profile.doctor.email ?? (waiting ? `${waiting}: waiting for confirmation` : 'no address gets their alerts: link them again to mail a new confirmation')})</p>}
      <form onSubmit={save}>
        <label htmlFor="doctor-address">Doctor’s wallet address</label>
        <input id="doctor-address" value={address} onChange={(e) => setAddress(e.target.value.trim())} placeholder="0x…" aria-invalid={address !== '' && !isAddress(address)} />
        <label htmlFor="doctor-email">Doctor’s email address</label>
        <input id="doctor-email" value={email} onChange={(e) => setEmail(e.target.value.trim())} placeholder="doctor@clinic.example" />
        <button className="btn" type="submit" disabled={!signer}>{profile.doctor ? 'Change doctor' : 'Link doctor'}</button>
      </form>
      <p className="muted">Your linked doctor can read your windows, screening results and alerts, live. Only one doctor at a time: linking another removes the first.</p>
      <TxStatus state={tx.state} testId="doctor-status" />
    </section>
  );
}
