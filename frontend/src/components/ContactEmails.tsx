// An account's email addresses (a patient's for alerts, a researcher's for notices of their
// requests): saved with a wallet signature, never on-chain. A new address gets nothing until its
// mailbox confirms the link the gateway mailed (double opt-in); the list shows those waiting.
import { useState, type FormEvent } from 'react';
import { useDapp } from '../context';
import { TxStatus } from './TxStatus';
import { useSigner } from '../hooks/useSigner';
import { useTx } from '../hooks/useTx';
import { describeError } from '../lib/errors';
import { setContacts, type Profile } from '../lib/gatewayPatients';

export const EMAIL = /^[^@\s]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,63}$/;
const MAX_ADDRESSES = 10;

export const waitingFor = (profile: Profile, purpose: 'contact' | 'doctor') => profile.waiting.filter((w) => w.purpose === purpose).map((w) => w.email);

/** `title`: the section's heading; `what`: what the addresses get ("Alerts and notices"). */
export function ContactEmails({ profile, onDone, title, what }: { profile: Profile; onDone: () => void; title: string; what: string }) {
  const { gateway, publicClient } = useDapp();
  const signer = useSigner();
  const tx = useTx(publicClient);
  const waiting = waitingFor(profile, 'contact');
  const [text, setText] = useState([...profile.contacts, ...waiting].join(', '));
  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!signer) return;
    const emails = text.split(/[\s,;]+/).filter(Boolean);
    const bad = emails.find((e) => !EMAIL.test(e));
    if (bad) return tx.fail(`“${bad}” is not an email address.`);
    if (emails.length > MAX_ADDRESSES) return tx.fail(`At most ${MAX_ADDRESSES} addresses.`);
    tx.set('signing', 'Sign the contact list in your wallet…');
    try {
      const saved = await setContacts(gateway, signer, emails);
      const plural = (n: number) => `${n} address${n === 1 ? '' : 'es'}`;
      tx.set('confirmed', !emails.length ? 'No contact address: you will get no emails.'
        : `${what} go to ${plural(saved.contacts)}${saved.waiting ? `; ${plural(saved.waiting)} must first confirm the link we emailed${saved.confirmations_sent < saved.waiting ? ' (a link sent in the last minutes is not sent again)' : ''}` : ''}.`);
      onDone();
    } catch (caught) {
      tx.fail(describeError(caught));
    }
  };
  return (
    <section aria-labelledby="contacts-title" className="step">
      <h3 id="contacts-title">{title}</h3>
      <form onSubmit={save}>
        <label htmlFor="emails">Your email addresses (up to {MAX_ADDRESSES}, separated by commas). They stay with the gateway, never on-chain.</label>
        <input id="emails" type="text" inputMode="email" value={text} onChange={(e) => setText(e.target.value)} placeholder="you@example.org" />
        <button className="btn" type="submit" disabled={!signer}>Save contacts</button>
      </form>
      {profile.contacts.length > 0 && <p className="muted" data-testid="contacts-confirmed">{what} go to: {profile.contacts.join(', ')}</p>}
      {waiting.length > 0 && <p className="muted" data-testid="contacts-waiting">Waiting for confirmation (nothing is sent to these until their owner opens the link we emailed): {waiting.join(', ')}</p>}
      <TxStatus state={tx.state} testId="contacts-status" />
    </section>
  );
}
