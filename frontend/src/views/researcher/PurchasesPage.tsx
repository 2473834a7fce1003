// The researcher's purchases, and one purchase on its own page (where a refund email links).
import { useDapp } from '../../context';
import { consentRequests, same, purchases } from '../../lib/derive';
import { DATA_CLASSES, formatEth, shortAddress } from '../../lib/domain';
import { hrefOf } from '../../lib/routes';
import { Purchased } from './RequestCard';

export function PurchasesPage() {
  const { ledger, wallet } = useDapp();
  const mine = purchases(ledger.events).filter((p) => same(p.buyer, wallet.account)).reverse();
  return (
    <section className="card wide" aria-labelledby="purchases-title">
      <h2 id="purchases-title">My purchases</h2>
      {mine.length === 0 ? <p>No purchases yet.</p> : (
        <table data-testid="purchases">
          <thead><tr><th scope="col">Purchase</th><th scope="col">Patient</th><th scope="col">Data</th><th scope="col">Paid</th><th scope="col">State</th></tr></thead>
          <tbody>
            {mine.map((p) => (
              <tr key={p.purchaseId.toString()}>
                <td><a href={hrefOf({ name: 'purchase', id: p.purchaseId })}>#{p.purchaseId.toString()}</a></td>
                <td title={p.patient}>{shortAddress(p.patient)}</td><td>{DATA_CLASSES[p.dataClass]}</td><td>{formatEth(p.amount)}</td>
                <td>{p.refunded ? 'refunded' : p.delivered ? 'delivered' : 'awaiting first read'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function PurchasePage({ id }: { id: bigint }) {
  const { ledger, wallet } = useDapp();
  const purchase = purchases(ledger.events).find((p) => p.purchaseId === id);
  const request = purchase && consentRequests(ledger.events).find((r) => r.id === purchase.requestId);
  return (
    <section className="card wide" aria-labelledby="purchase-title">
      <h2 id="purchase-title">Purchase #{id.toString()}</h2>
      {!purchase || !request ? <p>{ledger.head === 0n ? 'Reading the chain…' : `No purchase #${id} on this chain.`}</p>
        : !same(purchase.buyer, wallet.account) ? <p>This purchase was made by {purchase.buyer}; connect that wallet to act on it.</p>
          : (
            <>
              <p>Request <a href={hrefOf({ name: 'request', id: request.id })}>#{request.id.toString()}</a> ({request.status}) · patient <span title={request.patient}>{shortAddress(request.patient)}</span> · paid {formatEth(purchase.amount)}</p>
              <Purchased request={request} purchase={purchase} />
            </>
          )}
    </section>
  );
}
