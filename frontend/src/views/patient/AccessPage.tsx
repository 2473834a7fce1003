// Every read of the patient's records by a buyer, from the on-chain access log.
import { useDapp } from '../../context';
import { useBlockTimes } from '../../hooks/useBlockTimes';
import { accessHistory } from '../../lib/derive';
import { formatTime, shortAddress } from '../../lib/domain';

export function AccessPage() {
  const { ledger, wallet } = useDapp();
  const history = accessHistory(ledger.events, wallet.account);
  const times = useBlockTimes(history.map((r) => r.block));
  return (
    <section className="card wide" aria-labelledby="history-title">
      <h2 id="history-title">Who read your records</h2>
      {history.length === 0 ? <p>No one has accessed your records.</p> : (
        <table data-testid="access-history">
          <thead><tr><th scope="col">When</th><th scope="col">Reader</th><th scope="col">Record</th><th scope="col">Purchase</th></tr></thead>
          <tbody>
            {history.map((row) => (
              <tr key={`${row.tx}-${row.recordId}`}>
                <td>{times.has(row.block) ? formatTime(times.get(row.block)! * 1000) : `block ${row.block}`}</td>
                <td title={row.accessor}>{shortAddress(row.accessor)}</td>
                <td title={row.recordId}>{shortAddress(row.recordId)}</td><td>#{row.purchaseId.toString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
