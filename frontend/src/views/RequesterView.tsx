// The requester: find a patient, ask for consent, follow its status live, buy at the shown price,
// log the access on-chain and read the record through the gateway, then download it.
import { useState } from 'react';
import { formatEther, isAddress, keccak256, parseEther, stringToHex, type Address, type Hex } from 'viem';
import { pulseLedgerAbi } from '../contracts/PulseLedger';
import { useDapp } from '../context';
import { useRead } from '../hooks/useRead';
import { useTx } from '../hooks/useTx';
import { TxStatus } from '../components/TxStatus';
import { datasets, purchases, recordsOf, requestsByRequester, type ConsentRequest } from '../lib/derive';
import { bytes32ToPurpose, DATA_CLASSES, dataClassesOf, formatEth, formatPeriod, maskOf, purchaseIdOf, purposeToBytes32, shortAddress } from '../lib/domain';
import { describeError } from '../lib/errors';
import { useGatewaySignIn } from './HeartPanel';
import { Escrow } from './PatientView';

export function RequesterView() {
  const { ledger, wallet } = useDapp();
  const mine = requestsByRequester(ledger.events, wallet.account);
  return (
    <div className="grid">
      <RequestForm />
      <Escrow />
      <section className="card wide" aria-labelledby="mine-title">
        <h2 id="mine-title">My requests</h2>
        {mine.length === 0 ? <p>You have not requested access yet.</p> : (
          <ul className="list" data-testid="my-requests">{mine.map((r) => <MyRequest key={r.id.toString()} request={r} />)}</ul>
        )}
      </section>
    </div>
  );
}

function RequestForm() {
  const { config, publicClient, write, ledger } = useDapp();
  const available = datasets(ledger.events);
  const tx = useTx(publicClient);
  const [patient, setPatient] = useState('');
  const [purpose, setPurpose] = useState('cardiology research');
  const [classes, setClasses] = useState<number[]>([2]);
  const [days, setDays] = useState('30');
  const valid = isAddress(patient);
  const prices = useRead(
    valid && config.contract ? () => Promise.all(DATA_CLASSES.map((_, c) => publicClient.readContract({ address: config.contract!, abi: pulseLedgerAbi, functionName: 'priceOf', args: [patient as Address, c] }))) : null,
    [patient, valid],
  );

  const submit = async () => {
    if (!write) return;
    if (!valid) return tx.fail('Enter the patient’s address (0x followed by 40 hex digits).');
    if (classes.length === 0) return tx.fail('Choose at least one data class.');
    const period = Number(days);
    if (!Number.isInteger(period) || period < 1 || period > 3650) return tx.fail('The period must be between 1 and 3650 days.');
    let purposeBytes: Hex;
    try {
      purposeBytes = purposeToBytes32(purpose);
    } catch (caught) {
      return tx.fail(describeError(caught));
    }
    const now = Number((await publicClient.getBlock()).timestamp);
    const validFrom = now - 60;
    const validUntil = now + period * 86400;
    // The consent document's hash binds what was asked; the text itself stays off-chain (no PHI on-chain).
    const docHash = keccak256(stringToHex(JSON.stringify({ patient, purpose, classes, validFrom, validUntil })));
    await tx.run(() => write('requestConsent', [patient, purposeBytes, maskOf(classes), validFrom, validUntil, docHash]), () => 'Request sent; the patient sees it now.');
  };

  return (
    <section className="card" aria-labelledby="request-title">
      <h2 id="request-title">Find a patient and request access</h2>
      <h3>Datasets on-chain</h3>
      {available.length === 0 ? <p>No patient has registered records yet.</p> : (
        <table data-testid="datasets">
          <thead><tr><th scope="col">Patient</th>{DATA_CLASSES.map((name) => <th key={name} scope="col">{name}</th>)}<th scope="col"><span className="sr-only">Choose</span></th></tr></thead>
          <tbody>
            {available.map((d) => (
              <tr key={d.patient}>
                <td title={d.patient}>{shortAddress(d.patient)}</td>
                {d.counts.map((n, c) => <td key={c}>{n}</td>)}
                <td><button type="button" className="btn btn-flat" onClick={() => setPatient(d.patient)} aria-label={`Choose patient ${d.patient}`}>Choose</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <label htmlFor="patient">Patient address</label>
        <input id="patient" value={patient} onChange={(e) => setPatient(e.target.value.trim())} placeholder="0x…" aria-invalid={patient !== '' && !valid} />
        {valid && prices.value && (
          <ul className="prices" data-testid="patient-prices">
            {DATA_CLASSES.map((name, c) => <li key={name}>{name}: {prices.value![c] === 0n ? 'not for sale' : formatEth(prices.value![c])}</li>)}
          </ul>
        )}
        <label htmlFor="purpose">Purpose of use</label>
        <input id="purpose" value={purpose} maxLength={32} onChange={(e) => setPurpose(e.target.value)} />
        <fieldset>
          <legend>Data classes</legend>
          {DATA_CLASSES.map((name, c) => (
            <label key={name} className="check">
              <input type="checkbox" checked={classes.includes(c)} onChange={(e) => setClasses(e.target.checked ? [...classes, c] : classes.filter((x) => x !== c))} /> {name}
            </label>
          ))}
        </fieldset>
        <label htmlFor="days">Period (days)</label>
        <input id="days" inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
        <button className="btn" type="submit" disabled={!write}>Request access</button>
      </form>
      <TxStatus state={tx.state} testId="request-status" />
    </section>
  );
}

function MyRequest({ request }: { request: ConsentRequest }) {
  const { ledger } = useDapp();
  const bought = purchases(ledger.events).filter((p) => p.requestId === request.id);
  return (
    <li data-testid={`my-request-${request.id}`} data-status={request.status}>
      <div>
        <strong>#{request.id.toString()}</strong> <span className={`badge badge-${request.status.toLowerCase()}`} data-testid="status">{request.status}</span>
        <div>Patient: <span title={request.patient}>{shortAddress(request.patient)}</span> · {bytes32ToPurpose(request.purpose)} · {formatPeriod(request.validFrom, request.validUntil)}</div>
      </div>
      {dataClassesOf(request.dataClasses).map((c) => {
        const purchase = bought.find((p) => p.dataClass === c);
        return purchase
          ? <Purchased key={c} request={request} dataClass={c} refunded={purchase.refunded} delivered={purchase.delivered} />
          : <Buy key={c} request={request} dataClass={c} />;
      })}
    </li>
  );
}

function Buy({ request, dataClass }: { request: ConsentRequest; dataClass: number }) {
  const { config, publicClient, write } = useDapp();
  const tx = useTx(publicClient);
  const price = useRead(config.contract ? () => publicClient.readContract({ address: config.contract!, abi: pulseLedgerAbi, functionName: 'priceOf', args: [request.patient, dataClass] }) : null, [request.patient, dataClass]);
  const [amount, setAmount] = useState<string | null>(null);
  const shown = price.value === null ? '' : formatEther(price.value);
  const id = `amount-${request.id}-${dataClass}`;
  const buy = async () => {
    if (!write) return;
    let wei: bigint;
    try {
      wei = parseEther(amount ?? shown);
    } catch {
      return tx.fail('Enter the amount in ETH.');
    }
    await tx.run(() => write('purchase', [request.id, dataClass, wei], wei), () => `Paid ${formatEth(wei)} into escrow.`);
  };
  return (
    <form className="row" onSubmit={(e) => { e.preventDefault(); void buy(); }}>
      <label htmlFor={id}>{DATA_CLASSES[dataClass]}: price {price.value === null ? '…' : price.value === 0n ? 'not for sale' : formatEth(price.value)}; pay (ETH)</label>
      <input id={id} inputMode="decimal" value={amount ?? shown} onChange={(e) => setAmount(e.target.value)} />
      <button className="btn" type="submit" disabled={!write || request.status !== 'Approved'}>Buy {DATA_CLASSES[dataClass]}</button>
      <TxStatus state={tx.state} testId={`buy-status-${request.id}-${dataClass}`} />
    </form>
  );
}

function Purchased({ request, dataClass, refunded, delivered }: { request: ConsentRequest; dataClass: number; refunded: boolean; delivered: boolean }) {
  const { ledger, publicClient, write } = useDapp();
  const tx = useTx(publicClient);
  const records = recordsOf(ledger.events, request.patient).filter((r) => r.dataClass === dataClass && !r.retired);
  // Undelivered and the consent withdrawn: the contract lets the buyer take the payment back.
  const reclaimable = !delivered && !refunded && (request.status === 'Revoked' || request.status === 'Denied');
  return (
    <div className="purchased">
      <p>{DATA_CLASSES[dataClass]}: {refunded ? 'refunded' : delivered ? 'paid, delivered' : 'paid, awaiting first read'}</p>
      {reclaimable && (
        <button className="btn btn-warn" disabled={!write} onClick={() => write && tx.run(() => write('reclaim', [purchaseIdOf(request.id, dataClass)]), () => 'Payment reclaimed: it is in your escrow credit.')}>
          Reclaim payment for #{request.id.toString()}
        </button>
      )}
      <TxStatus state={tx.state} testId={`reclaim-status-${request.id}`} />
      {records.length === 0 ? <p>The patient has no {DATA_CLASSES[dataClass].toLowerCase()} record yet.</p>
        : records.map((r) => <ReadRecord key={r.recordId} recordId={r.recordId} purchaseId={purchaseIdOf(request.id, dataClass)} />)}
    </div>
  );
}

function ReadRecord({ recordId, purchaseId }: { recordId: Hex; purchaseId: bigint }) {
  const { publicClient, gateway, write } = useDapp();
  const tx = useTx(publicClient);
  const session = useGatewaySignIn();
  const [content, setContent] = useState<{ text: string; url: string } | null>(null);

  const read = async (logFirst: boolean) => {
    if (logFirst) {
      if (!write) return;
      const receipt = await tx.run(() => write('logAccess', [recordId, purchaseId]), () => 'Access logged on-chain.');
      if (!receipt) return;
    }
    if (!session.signedIn && !(await session.signIn())) return;
    try {
      tx.set('pending', 'Reading the record through the gateway…');
      const { bytes } = await gateway.readRecord(recordId, purchaseId);
      const blob = new Blob([bytes as BlobPart], { type: 'application/octet-stream' });
      setContent({ text: new TextDecoder().decode(bytes), url: URL.createObjectURL(blob) });
      tx.set('confirmed', `Record read (${bytes.length} bytes).`);
    } catch (caught) {
      tx.fail(describeError(caught));
    }
  };

  return (
    <div className="record">
      <span title={recordId}>Record {shortAddress(recordId)}</span>{' '}
      <button className="btn" onClick={() => read(true)} disabled={!write}>Log access and read</button>{' '}
      <button className="btn btn-flat" onClick={() => read(false)} disabled={!write}>Read again</button>
      {content && (
        <>
          <pre data-testid="record-content">{content.text}</pre>
          <a className="btn" href={content.url} download={`pulseledger-${recordId.slice(2, 10)}.json`}>Download export</a>
        </>
      )}
      <TxStatus state={tx.state} testId={`read-status-${recordId.slice(0, 10)}`} />
      {session.error && <p className="tx tx-failed" role="alert">{session.error}</p>}
    </div>
  );
}
