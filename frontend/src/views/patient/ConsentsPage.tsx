// The patient's consent history in plain words, newest first, and the same as FHIR downloads.
import { useState } from 'react';
import { useDapp } from '../../context';
import { SignInGate } from '../../components/SignInGate';
import { useBlockTimes } from '../../hooks/useBlockTimes';
import { historyOf, type HistoryItem } from '../../lib/derive';
import { bytes32ToPurpose, DATA_CLASSES, dataClassesOf, formatEth, formatPeriod, formatTime, shortAddress } from '../../lib/domain';
import { describeError } from '../../lib/errors';
import { hrefOf } from '../../lib/routes';

function classes(mask: number): string {
  const names = dataClassesOf(mask).map((c) => DATA_CLASSES[c].toLowerCase());
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names[0] ?? 'nothing';
}

export function sentenceOf(item: HistoryItem) {
  const who = (address: string) => <span title={address}>{shortAddress(address)}</span>;
  const request = (id: bigint) => <a href={hrefOf({ name: 'request', id })}>request #{id.toString()}</a>;
  switch (item.kind) {
    case 'requested': {
      const r = item.request;
      return <>{who(r.requester)} asked for your {classes(r.dataClasses)} for “{bytes32ToPurpose(r.purpose)}”, {formatPeriod(r.validFrom, r.validUntil)} ({request(r.id)}).</>;
    }
    case 'approved': return <>You approved {request(item.requestId)}: {who(item.requester)} may buy what it names while it lasts.</>;
    case 'denied': return <>You denied {request(item.requestId)}.</>;
    case 'revoked': return <>You revoked {request(item.requestId)}: {who(item.requester)} can no longer buy or read under it.</>;
    case 'paid': return <>{who(item.purchase.buyer)} paid {formatEth(item.purchase.amount)} for your {DATA_CLASSES[item.purchase.dataClass].toLowerCase()} (purchase #{item.purchase.purchaseId.toString()}); it waits in escrow until delivered.</>;
    case 'delivered': return <>The gateway delivered purchase #{item.purchaseId.toString()}: {formatEth(item.amount)} credited to you.</>;
    case 'refunded': return <>Purchase #{item.purchaseId.toString()} was refunded to the buyer ({formatEth(item.amount)}).</>;
    case 'accessed': return <>{who(item.access.accessor)} read record {shortAddress(item.access.recordId)} under purchase #{item.access.purchaseId.toString()}.</>;
    case 'withdrawn': return <>You withdrew {formatEth(item.amount)}.</>;
  }
}

export function ConsentsPage() {
  const { ledger, wallet } = useDapp();
  const items = historyOf(ledger.events, wallet.account);
  const times = useBlockTimes(items.map((i) => i.block));
  return (
    <div className="grid">
      <section className="card wide" aria-labelledby="consents-title">
        <h2 id="consents-title">Your consent history</h2>
        {items.length === 0 ? <p>Nothing yet: no one has asked for your data.</p> : (
          <ol className="list history" data-testid="consent-history" reversed>
            {items.map((item, i) => (
              <li key={`${item.block}-${i}`} data-kind={item.kind}>
                <time>{times.has(item.block) ? formatTime(times.get(item.block)! * 1000) : `block ${item.block}`}</time> {sentenceOf(item)}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section className="card" aria-labelledby="fhir-title">
        <h2 id="fhir-title">Download (FHIR)</h2>
        <SignInGate why="The gateway builds these files for you once you sign in with your wallet." action="Sign in to download">
          <FhirDownloads />
        </SignInGate>
      </section>
    </div>
  );
}

/** The patient's consents and access log as FHIR Bundles from the gateway, offered as downloads. */
function FhirDownloads() {
  const { wallet, gateway } = useDapp();
  const [links, setLinks] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const fetchBundle = async (kind: 'consents' | 'audit-events') => {
    if (!wallet.account) return;
    try {
      const text = await gateway.fhirExport(wallet.account, kind);
      setLinks((previous) => ({ ...previous, [kind]: URL.createObjectURL(new Blob([text], { type: 'application/fhir+json' })) }));
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  return (
    <div className="row">
      {(['consents', 'audit-events'] as const).map((kind) => (
        <p key={kind}>
          <button className="btn btn-flat" onClick={() => fetchBundle(kind)}>Prepare {kind === 'consents' ? 'consents' : 'access log'} export</button>
          {links[kind] && <a className="btn" data-testid={`fhir-${kind}`} href={links[kind]} download={`pulseledger-${kind}.fhir.json`}>Download {kind === 'consents' ? 'consents' : 'access log'}</a>}
        </p>
      ))}
      {error && <p className="tx tx-failed" role="alert">{error}</p>}
    </div>
  );
}
