// One of the researcher's requests: its status, and per data class either the purchase (buy at the
// shown price, or why not) or what was bought (the records it covers, live; log access and
// download in one step; reclaim whenever the contract allows it).
import { useEffect, useState } from 'react';
import { formatEther, parseEther, type Hex } from 'viem';
import { useDapp } from '../../context';
import { TxStatus } from '../../components/TxStatus';
import { useGatewaySession } from '../../hooks/useGatewaySession';
import { usePrices } from '../../hooks/usePrices';
import { useTx } from '../../hooks/useTx';
import { buyBlocker, purchases, reclaimable, recordsOf, type ConsentRequest, type PurchaseRow } from '../../lib/derive';
import { bytes32ToPurpose, DATA_CLASSES, dataClassesOf, formatEth, formatPeriod, purchaseIdOf, shortAddress } from '../../lib/domain';
import { describeError } from '../../lib/errors';
import { hrefOf } from '../../lib/routes';

export function RequestCard({ request }: { request: ConsentRequest }) {
  const { ledger } = useDapp();
  const bought = purchases(ledger.events).filter((p) => p.requestId === request.id);
  return (
    <li data-testid={`my-request-${request.id}`} data-status={request.status}>
      <div>
        <a href={hrefOf({ name: 'request', id: request.id })}><strong>#{request.id.toString()}</strong></a>{' '}
        <span className={`badge badge-${request.status.toLowerCase()}`} data-testid="status">{request.status}</span>
        <div>Patient: <span title={request.patient}>{shortAddress(request.patient)}</span> · {bytes32ToPurpose(request.purpose)} · {formatPeriod(request.validFrom, request.validUntil)}</div>
      </div>
      {dataClassesOf(request.dataClasses).map((c) => {
        const purchase = bought.find((p) => p.dataClass === c);
        return purchase ? <Purchased key={c} request={request} purchase={purchase} /> : <Buy key={c} request={request} dataClass={c} />;
      })}
    </li>
  );
}

function Buy({ request, dataClass }: { request: ConsentRequest; dataClass: number }) {
  const { ledger, publicClient, write } = useDapp();
  const tx = useTx(publicClient);
  const prices = usePrices(request.patient);
  const price = prices.value?.[dataClass] ?? null;
  const records = recordsOf(ledger.events, request.patient).filter((r) => r.dataClass === dataClass && !r.retired).length;
  const blocked = buyBlocker(request.status, price, records);
  const [amount, setAmount] = useState<string | null>(null);
  const shown = price === null ? '' : formatEther(price);
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
      <label htmlFor={id}>{DATA_CLASSES[dataClass]}: price {price === null ? '…' : price === 0n ? 'not for sale' : formatEth(price)}; pay (ETH)</label>
      <input id={id} inputMode="decimal" value={amount ?? shown} onChange={(e) => setAmount(e.target.value)} />
      <button className="btn" type="submit" disabled={!write || blocked !== null}>Buy {DATA_CLASSES[dataClass]}</button>
      {blocked && <span className="muted" data-testid={`buy-blocked-${request.id}-${dataClass}`}>{blocked}</span>}
      <TxStatus state={tx.state} testId={`buy-status-${request.id}-${dataClass}`} />
    </form>
  );
}

export function Purchased({ request, purchase }: { request: ConsentRequest; purchase: PurchaseRow }) {
  const { ledger, publicClient, write } = useDapp();
  const tx = useTx(publicClient);
  const { dataClass, delivered, refunded } = purchase;
  const records = recordsOf(ledger.events, request.patient).filter((r) => r.dataClass === dataClass && !r.retired);
  const nowS = useChainTime(ledger.head);
  const canReclaim = reclaimable(purchase, request, nowS);
  return (
    <div className="purchased" data-testid={`purchase-${purchase.purchaseId}`}>
      <p>
        <a href={hrefOf({ name: 'purchase', id: purchase.purchaseId })}>Purchase #{purchase.purchaseId.toString()}</a>{' '}
        {DATA_CLASSES[dataClass]}: {refunded ? 'refunded' : delivered ? 'paid, delivered' : 'paid, awaiting first read'}
      </p>
      {canReclaim && (
        <button className="btn btn-warn" disabled={!write} onClick={() => write && tx.run(() => write('reclaim', [purchaseIdOf(request.id, dataClass)]), () => 'Payment reclaimed: it is in your escrow credit.')}>
          Reclaim payment for #{request.id.toString()}
        </button>
      )}
      <TxStatus state={tx.state} testId={`reclaim-status-${request.id}`} />
      {records.length === 0 ? <p>The patient has no active {DATA_CLASSES[dataClass].toLowerCase()} record.</p>
        : records.map((r) => <ReadRecord key={r.recordId} recordId={r.recordId} purchaseId={purchaseIdOf(request.id, dataClass)} />)}
    </div>
  );
}

/** The latest block's timestamp, read again as the head moves (the contract's clock, not ours). */
function useChainTime(head: bigint): number | null {
  const { publicClient } = useDapp();
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    let live = true;
    publicClient.getBlock().then((b) => { if (live) setNow(Number(b.timestamp)); }).catch(() => undefined);
    return () => { live = false; };
  }, [publicClient, head]);
  return now;
}

function ReadRecord({ recordId, purchaseId }: { recordId: Hex; purchaseId: bigint }) {
  const { publicClient, gateway, write } = useDapp();
  const tx = useTx(publicClient);
  const session = useGatewaySession();
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
      const url = URL.createObjectURL(blob);
      setContent({ text: new TextDecoder().decode(bytes), url });
      if (logFirst) save(url, fileName(recordId)); // one flow: logged, read, saved
      tx.set('confirmed', `Record read (${bytes.length} bytes)${logFirst ? ' and saved' : ''}.`);
    } catch (caught) {
      tx.fail(describeError(caught));
    }
  };

  return (
    <div className="record">
      <span title={recordId}>Record {shortAddress(recordId)}</span>{' '}
      <button className="btn" onClick={() => read(true)} disabled={!write}>Log access and download</button>{' '}
      <button className="btn btn-flat" onClick={() => read(false)} disabled={!write}>Read again</button>
      {content && (
        <>
          <pre data-testid="record-content">{content.text}</pre>
          <a className="btn" href={content.url} download={fileName(recordId)}>Download export</a>
        </>
      )}
      <TxStatus state={tx.state} testId={`read-status-${recordId.slice(0, 10)}`} />
      {session.error && <p className="tx tx-failed" role="alert">{session.error}</p>}
    </div>
  );
}

const fileName = (recordId: Hex) => `pulseledger-${recordId.slice(2, 10)}.json`;

function save(url: string, name: string) {
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
}
