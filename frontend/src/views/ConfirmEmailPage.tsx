// Where a confirmation email links (services/notify/links.py `confirm_email_link`): a patient named
// this address for their alerts, or as their doctor's, and nothing is sent to it until its owner
// confirms here. A button, not on load: mail scanners open links, and only a person should say yes.
// No wallet: the secret in the link, which only this mailbox received, is the proof.
import { useState } from 'react';
import { useDapp } from '../context';
import { describeError } from '../lib/errors';
import { confirmEmail, type EmailConfirmed } from '../lib/gatewayPatients';

type State = { phase: 'idle' } | { phase: 'sending' } | { phase: 'done'; confirmed: EmailConfirmed } | { phase: 'failed'; message: string };

export function ConfirmEmailPage({ token }: { token?: string }) {
  const { gateway } = useDapp();
  const [state, setState] = useState<State>({ phase: 'idle' });
  const confirm = async () => {
    if (!token) return;
    setState({ phase: 'sending' });
    try {
      setState({ phase: 'done', confirmed: await confirmEmail(gateway, token) });
    } catch (caught) {
      setState({ phase: 'failed', message: describeError(caught) });
    }
  };
  return (
    <section className="card wide" aria-labelledby="confirm-title">
      <h2 id="confirm-title">Confirm your email address</h2>
      {!token ? (
        <p role="alert" className="tx tx-failed" data-testid="confirm-status">This link is incomplete: open the whole link from the email.</p>
      ) : state.phase === 'done' ? (
        <p role="status" className="tx tx-confirmed" data-testid="confirm-status">
          Confirmed: {state.confirmed.email} now gets {state.confirmed.purpose === 'doctor' ? 'the alerts of your patient' : 'the PulseLedger emails of'} <code>{state.confirmed.owner}</code>.
        </p>
      ) : (
        <>
          <p>A PulseLedger account named this address to receive its emails (a patient’s heart-rhythm alerts and notices, or a researcher’s notices of their requests). Nothing is sent to it unless you confirm.</p>
          <button className="btn" type="button" onClick={confirm} disabled={state.phase === 'sending'}>Confirm this address</button>
          {state.phase === 'failed' && <p role="alert" className="tx tx-failed" data-testid="confirm-status">{state.message}</p>}
          <p className="muted">Did not expect this? Close this page: the address gets nothing more.</p>
        </>
      )}
    </section>
  );
}
