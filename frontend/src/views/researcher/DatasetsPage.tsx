// What a researcher can ask for today: patients with active records registered on-chain, counted
// per data class from the registry's events (records carry no content on-chain, by design).
import { useDapp } from '../../context';
import { datasets } from '../../lib/derive';
import { DATA_CLASSES, shortAddress } from '../../lib/domain';
import { hrefOf } from '../../lib/routes';
import type { Address } from '../../lib/config';

export function DatasetsTable({ onChoose }: { onChoose?: (patient: Address) => void }) {
  const { ledger } = useDapp();
  const available = datasets(ledger.events, DATA_CLASSES.length);
  if (available.length === 0) return <p>No patient has registered records yet.</p>;
  return (
    <table data-testid="datasets">
      <caption className="sr-only">Patients with records on-chain, per data class</caption>
      <thead><tr><th scope="col">Patient</th>{DATA_CLASSES.map((name) => <th key={name} scope="col">{name}</th>)}<th scope="col"><span className="sr-only">Choose</span></th></tr></thead>
      <tbody>
        {available.map((d) => (
          <tr key={d.patient}>
            <td title={d.patient}>{shortAddress(d.patient)}</td>
            {d.counts.map((n, c) => <td key={c}>{n}</td>)}
            <td>{onChoose
              ? <button type="button" className="btn btn-flat" onClick={() => onChoose(d.patient)} aria-label={`Choose patient ${d.patient}`}>Choose</button>
              : <a className="btn btn-flat" href={hrefOf({ name: 'research', patient: d.patient })} aria-label={`Request access from ${d.patient}`}>Request access</a>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DatasetsPage() {
  return (
    <section className="card wide" aria-labelledby="datasets-title">
      <h2 id="datasets-title">Datasets on-chain</h2>
      <p>Patients who registered records for sale, and how many of each class. A record’s content is encrypted off-chain: ask the patient for consent, then buy.</p>
      <DatasetsTable />
    </section>
  );
}
