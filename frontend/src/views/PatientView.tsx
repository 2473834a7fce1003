// The patient: who asks for what, decide (transaction or gasless signature), prices, escrow,
// every access from on-chain events, and their heart-rate windows live from the gateway.
import { useState } from 'react';
import { parseEther, type Address } from 'viem';
import { pulseLedgerAbi } from '../contracts/PulseLedger';
import { useDapp } from '../context';
import { useRead } from '../hooks/useRead';
import { useTx } from '../hooks/useTx';
import { accessHistory, requestsForPatient, type ConsentRequest } from '../lib/derive';
import { bytes32ToPurpose, DATA_CLASSES, DECISION, dataClassesOf, formatEth, formatPeriod, shortAddress, type DecisionName } from '../lib/domain';
import { TxStatus } from '../components/TxStatus';
import { describeError } from '../lib/errors';
import { HeartPanel } from './HeartPanel';

export function PatientView() {
  const { ledger, wallet } = useDapp();
  const me = wallet.account;
  const requests = requestsForPatient(ledger.events, me);
  const history = accessHistory(ledger.events, me);
  return (
    <div className="grid">
      <section className="card" aria-labelledby="incoming-title">
        <h2 id="incoming-title">Incoming requests</h2>
        <Requests requests={requests} />
      </section>
      <Prices />
      <Escrow />
      <section className="card wide" aria-labelledby="history-title">
        <h2 id="history-title">Access history</h2>
        {history.length === 0 ? <p>No one has accessed your records.</p> : (
          <table data-testid="access-history">
            <thead><tr><th scope="col">Block</th><th scope="col">Accessor</th><th scope="col">Record</th><th scope="col">Purchase</th></tr></thead>
            <tbody>
              {history.map((row) => (
                <tr key={`${row.tx}-${row.recordId}`}>
                  <td>{row.block.toString()}</td><td title={row.accessor}>{shortAddress(row.accessor)}</td>
                  <td title={row.recordId}>{shortAddress(row.recordId)}</td><td>{row.purchaseId.toString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <HeartPanel />
    </div>
  );
}

function Requests({ requests }: { requests: ConsentRequest[] }) {
  const { config, publicClient, wallet, gateway, write } = useDapp();
  const tx = useTx(publicClient);
  const [gasless, setGasless] = useState(false);

  const decide = async (request: ConsentRequest, decision: DecisionName) => {
    if (!write || !wallet.client || !wallet.account) return;
    if (!gasless) {
      await tx.run(() => write(decision, [request.id]), () => `Request #${request.id} ${decision === 'approve' ? 'approved' : decision === 'deny' ? 'denied' : 'revoked'}.`);
      return;
    }
    tx.set('signing', 'Sign the decision in your wallet (no gas)…');
    try {
      const nonce = await publicClient.readContract({ address: config.contract!, abi: pulseLedgerAbi, functionName: 'nonces', args: [wallet.account] });
      const deadline = (await publicClient.getBlock()).timestamp + 600n;
      const signature = await wallet.client.signTypedData({
        account: wallet.account,
        domain: { name: 'PulseLedger', version: '1', chainId: config.chainId, verifyingContract: config.contract! },
        types: { ConsentDecision: [{ name: 'requestId', type: 'uint256' }, { name: 'decision', type: 'uint8' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }] },
        primaryType: 'ConsentDecision',
        message: { requestId: request.id, decision: DECISION[decision], nonce, deadline },
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
      <label className="switch">
        <input type="checkbox" checked={gasless} onChange={(e) => setGasless(e.target.checked)} />
        Decide by signature (gasless, relayed by the gateway)
      </label>
      {requests.length === 0 ? <p>No requests yet.</p> : (
        <ul className="list" data-testid="incoming-requests">
          {requests.map((request) => (
            <li key={request.id.toString()} data-testid={`request-${request.id}`} data-status={request.status}>
              <div>
                <strong>#{request.id.toString()}</strong> <span className={`badge badge-${request.status.toLowerCase()}`}>{request.status}</span>
                <div>Purpose: {bytes32ToPurpose(request.purpose)}</div>
                <div>Data: {dataClassesOf(request.dataClasses).map((c) => DATA_CLASSES[c]).join(', ')}</div>
                <div>Period: {formatPeriod(request.validFrom, request.validUntil)}</div>
                <div>Requester: <span title={request.requester}>{request.requester}</span></div>
              </div>
              <div className="actions">
                {request.status === 'Pending' && <>
                  <button className="btn" onClick={() => decide(request, 'approve')} disabled={!write}>Approve #{request.id.toString()}</button>
                  <button className="btn btn-flat" onClick={() => decide(request, 'deny')} disabled={!write}>Deny #{request.id.toString()}</button>
                </>}
                {request.status === 'Approved' && <button className="btn btn-warn" onClick={() => decide(request, 'revoke')} disabled={!write}>Revoke #{request.id.toString()}</button>}
              </div>
            </li>
          ))}
        </ul>
      )}
      <TxStatus state={tx.state} testId="decision-status" />
    </>
  );
}

function Prices() {
  const { config, publicClient, wallet, write } = useDapp();
  const tx = useTx(publicClient);
  const me = wallet.account;
  const prices = useRead(
    me && config.contract ? () => Promise.all(DATA_CLASSES.map((_, c) => publicClient.readContract({ address: config.contract!, abi: pulseLedgerAbi, functionName: 'priceOf', args: [me as Address, c] }))) : null,
    [me],
  );
  const [drafts, setDrafts] = useState<string[]>(['', '', '']);
  const save = async (dataClass: number) => {
    if (!write) return;
    let wei: bigint;
    try {
      wei = parseEther(drafts[dataClass] || '0');
    } catch {
      tx.fail('Enter the price in ETH, for example 0.001.');
      return;
    }
    await tx.run(() => write('setPrice', [dataClass, wei]), () => `Price of ${DATA_CLASSES[dataClass]} set to ${formatEth(wei)}.`);
  };
  return (
    <section className="card" aria-labelledby="prices-title">
      <h2 id="prices-title">Prices per data class</h2>
      {DATA_CLASSES.map((name, c) => (
        <form key={name} className="row" onSubmit={(e) => { e.preventDefault(); void save(c); }}>
          <label htmlFor={`price-${c}`}>{name} <small>(now {prices.value ? (prices.value[c] === 0n ? 'not for sale' : formatEth(prices.value[c])) : '…'})</small></label>
          <input id={`price-${c}`} inputMode="decimal" placeholder="ETH" value={drafts[c]} onChange={(e) => setDrafts(drafts.map((d, i) => (i === c ? e.target.value : d)))} />
          <button className="btn" type="submit" disabled={!write}>Set price</button>
        </form>
      ))}
      <TxStatus state={tx.state} testId="price-status" />
    </section>
  );
}

export function Escrow() {
  const { config, publicClient, wallet, write } = useDapp();
  const tx = useTx(publicClient);
  const me = wallet.account;
  const credit = useRead(me && config.contract ? () => publicClient.readContract({ address: config.contract!, abi: pulseLedgerAbi, functionName: 'creditOf', args: [me as Address] }) : null, [me]);
  return (
    <section className="card" aria-labelledby="escrow-title">
      <h2 id="escrow-title">Escrow</h2>
      <p>Credit available: <strong data-testid="credit">{credit.value === null ? '…' : formatEth(credit.value)}</strong></p>
      <button className="btn" disabled={!write} onClick={() => write && tx.run(() => write('withdraw', []), () => 'Withdrawn to your account.')}>Withdraw</button>
      <TxStatus state={tx.state} testId="withdraw-status" />
    </section>
  );
}
