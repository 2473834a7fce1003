// The patient's incoming requests: who asks for what, for how long; approve or deny (a transaction,
// or a gasless signature the gateway relays), revoke. Approving a class the patient has not put up
// for sale gets a word first: consent then lets the requester buy it at any price set later. The
// consent rule is said once, in CONSENT_RULE (lib/domain.ts), the sentence the contract implements.
import { useState } from 'react';
import { useDapp } from '../../context';
import { TxStatus } from '../../components/TxStatus';
import { usePrices } from '../../hooks/usePrices';
import { useTx } from '../../hooks/useTx';
import { requestsForPatient, type ConsentRequest } from '../../lib/derive';
import { bytes32ToPurpose, CONSENT_RULE, REVOKE_EFFECT, DATA_CLASSES, DECISION, dataClassesOf, formatPeriod, type DecisionName } from '../../lib/domain';
import { consentDecisionTypedData } from '../../lib/consentTypedData';
import { describeError } from '../../lib/errors';
import { hrefOf } from '../../lib/routes';

export function RequestsPage() {
  const { ledger, wallet } = useDapp();
  const requests = requestsForPatient(ledger.events, wallet.account);
  return (
    <section className="card wide" aria-labelledby="incoming-title">
      <h2 id="incoming-title">Requests for your data</h2>
      <Decisions requests={requests} />
    </section>
  );
}

export function Decisions({ requests }: { requests: ConsentRequest[] }) {
  const { config, publicClient, wallet, gateway, write, read } = useDapp();
  const tx = useTx(publicClient);
  const [gasless, setGasless] = useState(false);
  const prices = usePrices(wallet.account);

  const decide = async (request: ConsentRequest, decision: DecisionName) => {
    if (!write || !read || !wallet.client || !wallet.account) return;
    const verb = decision === 'approve' ? 'approved' : decision === 'deny' ? 'denied' : 'revoked';
    if (!gasless) {
      await tx.run(() => write(decision, [request.id]), () => `Request #${request.id} ${verb}.`);
      return;
    }
    tx.set('signing', 'Sign the decision in your wallet (no gas)…');
    try {
      const nonce = await read('nonces', [wallet.account]);
      const deadline = (await publicClient.getBlock()).timestamp + 600n;
      const signature = await wallet.client.signTypedData({
        account: wallet.account,
        ...consentDecisionTypedData({
          chainId: config.chainId, verifyingContract: config.contract!, requestId: request.id,
          decision: DECISION[decision], nonce, deadline,
        }),
      });
      tx.set('pending', 'Signed; the gateway is relaying it…');
      const relayed = await gateway.relayDecision({ request_id: request.id.toString(), decision, deadline: deadline.toString(), signature });
      tx.set('confirmed', `Request #${request.id}: ${decision} relayed by the gateway in block ${relayed.block_number}.`);
    } catch (caught) {
      tx.fail(describeError(caught));
    }
  };

  return (
    <>
      <p className="note" data-testid="consent-rule">{CONSENT_RULE}</p>
      <label className="switch">
        <input type="checkbox" checked={gasless} onChange={(e) => setGasless(e.target.checked)} />
        Decide by signature (gasless, relayed by the gateway)
      </label>
      {requests.length === 0 ? <p>No requests yet. When a researcher asks for your data, it appears here and you get an email.</p> : (
        <ul className="list" data-testid="incoming-requests">
          {requests.map((request) => {
            const notForSale = dataClassesOf(request.dataClasses).filter((c) => prices.value?.[c] === 0n);
            return (
              <li key={request.id.toString()} data-testid={`request-${request.id}`} data-status={request.status}>
                <div>
                  <a href={hrefOf({ name: 'request', id: request.id })}><strong>#{request.id.toString()}</strong></a>{' '}
                  <span className={`badge badge-${request.status.toLowerCase()}`}>{request.status}</span>
                  <div>Purpose: {bytes32ToPurpose(request.purpose)}</div>
                  <div>Data: {dataClassesOf(request.dataClasses).map((c) => DATA_CLASSES[c]).join(', ')} <a href={hrefOf({ name: 'data-classes' })}>(what each contains)</a></div>
                  <div>Period: {formatPeriod(request.validFrom, request.validUntil)}</div>
                  <div>Requester: <span title={request.requester}>{request.requester}</span></div>
                </div>
                {request.status === 'Pending' && notForSale.length > 0 && (
                  <p className="warning" role="note" data-testid={`not-for-sale-${request.id}`}>
                    You have not put {notForSale.map((c) => DATA_CLASSES[c]).join(' or ')} up for sale (price 0). Approving still consents to sharing it:
                    if you set a price later, this requester can buy it at that price until {formatPeriod(request.validFrom, request.validUntil).split(' → ')[1]} without asking again.
                  </p>
                )}
                <div className="actions">
                  {request.status === 'Pending' && <>
                    <button className="btn" onClick={() => decide(request, 'approve')} disabled={!write}>Approve #{request.id.toString()}</button>
                    <button className="btn btn-flat" onClick={() => decide(request, 'deny')} disabled={!write}>Deny #{request.id.toString()}</button>
                  </>}
                  {request.status === 'Approved' && <button className="btn btn-warn" onClick={() => decide(request, 'revoke')} disabled={!write} title={REVOKE_EFFECT}>Revoke #{request.id.toString()}</button>}
                </div>
              </li>
            );
          })}
        </ul>
      )}
      <TxStatus state={tx.state} testId="decision-status" />
    </>
  );
}
