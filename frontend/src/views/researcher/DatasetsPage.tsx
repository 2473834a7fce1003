// What a researcher can buy today: patients who price a data class and have active records of it
// on-chain, counted per class from the registry's and price book's events (records carry no content
// on-chain, by design), with when the first and last of them were registered.
import { useDapp } from '../../context';
import { useBlockTimes } from '../../hooks/useBlockTimes';
import { datasets } from '../../lib/derive';
import { DATA_CLASSES, shortAddress } from '../../lib/domain';
import { hrefOf } from '../../lib/routes';
import type { Address } from '../../lib/config';

export function DatasetsTable({ onChoose }: { onChoose?: (patient: Address) => void }) {
  const { ledger } = useDapp();
  const available = datasets(ledger.events, DATA_CLASSES.length);
  const times = useBlockTimes(available.flatMap((d) => [d.firstBlock, d.lastBlock]));
  if (available.length === 0) return <p>No patient has records for sale yet.</p>;
  return (
    <table data-testid="datasets">
      <caption className="sr-only">Patients with records on-chain, per data class</caption>
      <thead><tr><th scope="col">Patient</th>{DATA_CLASSES.map((name) => <th key={name} scope="col">{name}</th>)}<th scope="col">Registered</th><th scope="col"><span className="sr-only">Choose</span></th></tr></thead>
      <tbody>
        {available.map((d) => (
          <tr key={d.patient}>
            <td title={d.patient}>{shortAddress(d.patient)}</td>
            {d.counts.map((n, c) => <td key={c}>{n}</td>)}
            <td>{period(times.get(d.firstBlock), times.get(d.lastBlock))}</td>
            <td>{onChoose
              ? <button type="button" className="btn btn-flat" onClick={() => onChoose(d.patient)} aria-label={`Choose patient ${d.patient}`}>Choose</button>
              : <a className="btn btn-flat" href={hrefOf({ name: 'research', patient: d.patient })} aria-label={`Request access from ${d.patient}`}>Request access</a>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function period(first: number | undefined, last: number | undefined): string {
  if (first === undefined || last === undefined) return '…';
  const day = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ');
  return first === last ? day(first) : `${day(first)} – ${day(last)}`;
}

export function DatasetsPage() {
  return (
    <section className="card wide" aria-labelledby="datasets-title">
      <h2 id="datasets-title">Datasets on-chain</h2>
      <p>Patients who price a data class and have records of it for sale, how many of each class, and when they were registered (UTC). A record’s content is encrypted off-chain: ask the patient for consent, then buy.</p>
      <DatasetsTable />
    </section>
  );
}
