// What the patient earned, purchase by purchase: paid into escrow, credited once the gateway
// confirmed delivery, or refunded to the buyer; then withdrawn (pull payment).
import { useDapp } from '../../context';
import { Escrow } from '../../components/Escrow';
import { useBlockTimes } from '../../hooks/useBlockTimes';
import { earningsOf } from '../../lib/derive';
import { DATA_CLASSES, formatEth, formatTime, shortAddress } from '../../lib/domain';
import { hrefOf } from '../../lib/routes';

export function EarningsPage() {
  const { ledger, wallet } = useDapp();
  const earnings = earningsOf(ledger.events, wallet.account);
  const times = useBlockTimes(earnings.rows.map((r) => r.block));
  return (
    <div className="grid">
      <section className="card wide" aria-labelledby="earnings-title">
        <h2 id="earnings-title">Earnings</h2>
        <dl className="totals" data-testid="earnings-totals">
          <div><dt>Credited to you</dt><dd>{formatEth(earnings.credited)}</dd></div>
          <div><dt>Paid, awaiting delivery</dt><dd>{formatEth(earnings.awaiting)}</dd></div>
          <div><dt>Refunded to buyers</dt><dd>{formatEth(earnings.refunded)}</dd></div>
          <div><dt>Withdrawn</dt><dd>{formatEth(earnings.withdrawn)}</dd></div>
        </dl>
        {earnings.rows.length === 0 ? <p>Nobody has bought your data yet. Set a price per data class to offer it.</p> : (
          <table data-testid="earnings">
            <thead><tr><th scope="col">When</th><th scope="col">Purchase</th><th scope="col">Buyer</th><th scope="col">Data</th><th scope="col">Amount</th><th scope="col">State</th></tr></thead>
            <tbody>
              {earnings.rows.map((p) => (
                <tr key={p.purchaseId.toString()}>
                  <td>{times.has(p.block) ? formatTime(times.get(p.block)! * 1000) : `block ${p.block}`}</td>
                  <td>#{p.purchaseId.toString()} <small>(<a href={hrefOf({ name: 'request', id: p.requestId })}>request #{p.requestId.toString()}</a>)</small></td>
                  <td title={p.buyer}>{shortAddress(p.buyer)}</td>
                  <td>{DATA_CLASSES[p.dataClass]}</td>
                  <td>{formatEth(p.amount)}</td>
                  <td>{p.refunded ? 'refunded to the buyer' : p.delivered ? 'credited to you' : 'in escrow until delivered'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Escrow title="Withdraw" />
    </div>
  );
}
