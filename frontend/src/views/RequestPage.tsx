// `#/requests/N`, the address both emails about a request link to: the patient gets the decision,
// the requester their request with its purchases; anyone else is told whose it is.
import { useDapp } from '../context';
import { consentRequests, same } from '../lib/derive';
import { Decisions } from './patient/RequestsPage';
import { RequestCard } from './researcher/RequestCard';

export function RequestPage({ id }: { id: bigint }) {
  const { ledger, wallet } = useDapp();
  const request = consentRequests(ledger.events).find((r) => r.id === id);
  let body;
  if (!request) body = <p>{ledger.head === 0n ? 'Reading the chain…' : `No request #${id} on this chain.`}</p>;
  else if (same(request.patient, wallet.account)) body = <Decisions requests={[request]} />;
  else if (same(request.requester, wallet.account)) body = <ul className="list"><RequestCard request={request} /></ul>;
  else body = <p>Request #{id.toString()} is between patient {request.patient} and requester {request.requester}. Connect one of those wallets to act on it.</p>;
  return (
    <section className="card wide" aria-labelledby="request-title">
      <h2 id="request-title">Request #{id.toString()}</h2>
      {body}
    </section>
  );
}
