// The researcher: find a patient (or come from the datasets list), ask for consent, follow each
// request live, buy, read and download.
import { useState } from 'react';
import { bytesToHex, isAddress, keccak256, stringToHex, type Hex } from 'viem';
import { useDapp } from '../../context';
import { ContactEmails } from '../../components/ContactEmails';
import { Escrow } from '../../components/Escrow';
import { SignInGate } from '../../components/SignInGate';
import { TxStatus } from '../../components/TxStatus';
import { useGatewaySession } from '../../hooks/useGatewaySession';
import { usePrices } from '../../hooks/usePrices';
import { useProfile } from '../../hooks/useProfile';
import { useTx } from '../../hooks/useTx';
import type { Address } from '../../lib/config';
import { requestsByRequester } from '../../lib/derive';
import { DATA_CLASSES, formatEth, maskOf, PURPOSES, purposeToBytes32 } from '../../lib/domain';
import { describeError } from '../../lib/errors';
import { DatasetsTable } from './DatasetsPage';
import { RequestCard } from './RequestCard';

export function ResearchPage({ patient }: { patient?: Address }) {
  const { ledger, wallet } = useDapp();
  const mine = requestsByRequester(ledger.events, wallet.account);
  return (
    <div className="grid">
      <RequestForm key={patient ?? ''} initialPatient={patient ?? ''} />
      <Escrow title="Refunds (escrow credit)" />
      <NoticeEmails />
      <section className="card wide" aria-labelledby="mine-title">
        <h2 id="mine-title">My requests</h2>
        {mine.length === 0 ? <p>You have not requested access yet.</p> : (
          <ul className="list" data-testid="my-requests">{mine.map((r) => <RequestCard key={r.id.toString()} request={r} />)}</ul>
        )}
      </section>
    </div>
  );
}

/** Where the relay mails this researcher's notices: a request decided, a refund to claim. */
function NoticeEmails() {
  const session = useGatewaySession();
  const { profile, error, reload } = useProfile(session.signedIn);
  return (
    <section className="card" aria-labelledby="notices-title">
      <h2 id="notices-title">Email notices</h2>
      <p className="muted">A patient decided your request, or a purchase’s payment can be claimed back: we email you, if you name an address and it confirms.</p>
      <SignInGate why="Sign in with your wallet to name where notices go (a message your wallet signs: no gas, nothing on-chain)." action="Sign in for email notices">
        {!profile ? <p role="status">{error ?? 'Reading your account…'}</p>
          : <ContactEmails profile={profile} onDone={reload} title="Where to send notices" what="Notices" />}
      </SignInGate>
    </section>
  );
}

function RequestForm({ initialPatient }: { initialPatient: string }) {
  const { publicClient, write } = useDapp();
  const tx = useTx(publicClient);
  const [patient, setPatient] = useState(initialPatient);
  const [purpose, setPurpose] = useState(PURPOSES[0].code);
  const [classes, setClasses] = useState<number[]>([2]);
  const [days, setDays] = useState('30');
  const valid = isAddress(patient);
  const prices = usePrices(valid ? (patient as Address) : null);

  const submit = async () => {
    if (!write) return;
    if (!valid) return tx.fail('Enter the patient’s address (0x followed by 40 hex digits).');
    if (classes.length === 0) return tx.fail('Choose at least one data class.');
    const period = Number(days);
    if (!Number.isInteger(period) || period < 1 || period > 3650) return tx.fail('The period must be between 1 and 3650 days.');
    let purposeBytes: Hex;
    try {
      purposeBytes = purposeToBytes32(purpose);
    } catch (caught) {
      return tx.fail(describeError(caught));
    }
    const now = Number((await publicClient.getBlock()).timestamp);
    const validFrom = now - 60;
    const validUntil = now + period * 86400;
    // The consent document's hash binds what was asked; the document stays off-chain (no PHI on-chain).
    // Its random identifier keeps the hash from being confirmed by guessing the few fields it holds.
    const documentId = bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
    const docHash = keccak256(stringToHex(JSON.stringify({ id: documentId, patient, purpose, classes, validFrom, validUntil })));
    await tx.run(() => write('requestConsent', [patient as Address, purposeBytes, maskOf(classes), validFrom, validUntil, docHash]), () => 'Request sent; the patient sees it now.');
  };

  return (
    <section className="card" aria-labelledby="request-title">
      <h2 id="request-title">Request access</h2>
      <DatasetsTable onChoose={setPatient} />
      <form onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <label htmlFor="patient">Patient address</label>
        <input id="patient" value={patient} onChange={(e) => setPatient(e.target.value.trim())} placeholder="0x…" aria-invalid={patient !== '' && !valid} />
        {valid && prices.value && (
          <ul className="prices" data-testid="patient-prices">
            {DATA_CLASSES.map((name, c) => <li key={name}>{name}: {prices.value![c] === 0n ? 'not for sale' : formatEth(prices.value![c])}</li>)}
          </ul>
        )}
        <label htmlFor="purpose">Purpose of use</label>
        <select id="purpose" value={purpose} onChange={(e) => setPurpose(e.target.value)}>
          {PURPOSES.map((p) => <option key={p.code} value={p.code}>{p.words} ({p.code})</option>)}
        </select>
        <fieldset>
          <legend>Data classes</legend>
          {DATA_CLASSES.map((name, c) => (
            <label key={name} className="check">
              <input type="checkbox" checked={classes.includes(c)} onChange={(e) => setClasses(e.target.checked ? [...classes, c] : classes.filter((x) => x !== c))} /> {name}
            </label>
          ))}
        </fieldset>
        <label htmlFor="days">Period (days)</label>
        <input id="days" inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
        <button className="btn" type="submit" disabled={!write}>Request access</button>
      </form>
      <TxStatus state={tx.state} testId="request-status" />
    </section>
  );
}
