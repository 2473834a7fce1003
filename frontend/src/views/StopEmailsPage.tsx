// Where the stop link of every email leads (services/notify/stop_links.py): its recipient gets
// no more PulseLedger emails for that account (a patient's alerts and notices, a requester's notices). A button, not on load (mail scanners open links); no
// wallet: the token in the link, which only the services holding the records key can make, is the proof.
import { useState } from 'react';
import { useDapp } from '../context';
import type { Address } from '../lib/config';
import { describeError } from '../lib/errors';
import { stopEmails } from '../lib/gatewayPatients';

type State = { phase: 'idle' | 'sending' } | { phase: 'done'; stopped: boolean } | { phase: 'failed'; message: string };

export function StopEmailsPage({ owner, email, token }: { owner?: Address; email?: string; token?: string }) {
  const { gateway } = useDapp();
  const [state, setState] = useState<State>({ phase: 'idle' });
  const stop = async () => {
    if (!owner || !email || !token) return;
    setState({ phase: 'sending' });
    try {
      setState({ phase: 'done', stopped: (await stopEmails(gateway, owner, email, token)).stopped });
    } catch (caught) {
      setState({ phase: 'failed', message: describeError(caught) });
    }
  };
  return (
    <section className="card wide" aria-labelledby="stop-title">
      <h2 id="stop-title">Stop these emails</h2>
      {!owner || !email || !token ? (
        <p role="alert" className="tx tx-failed" data-testid="stop-status">This link is incomplete: open the whole link from the email.</p>
      ) : state.phase === 'done' ? (
        <p role="status" className="tx tx-confirmed" data-testid="stop-status">
          {state.stopped ? 'Stopped' : 'Nothing to stop'}: {email} gets no more PulseLedger emails for <code>{owner}</code>. Only that account can add it again, and then it must confirm again.
        </p>
      ) : (
        <>
          <p>{email} gets PulseLedger emails for the account <code>{owner}</code>: a patient’s heart-rhythm alerts and notices, or a requester’s notices.</p>
          <button className="btn" type="button" onClick={stop} disabled={state.phase === 'sending'}>Stop these emails</button>
          {state.phase === 'failed' && <p role="alert" className="tx tx-failed" data-testid="stop-status">{state.message}</p>}
        </>
      )}
    </section>
  );
}
