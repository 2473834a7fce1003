// A patient erases their records: the gateway destroys every key it holds for them (their windows
// can never be decrypted again), then their wallet retires the records registered on-chain so none
// can be bought or read. What stays on-chain is listed, with why none of it is health data.
import { useState } from 'react';
import { useDapp } from '../../context';
import { SignInGate } from '../../components/SignInGate';
import { TxStatus } from '../../components/TxStatus';
import { useTx } from '../../hooks/useTx';
import { accessHistory, purchases, recordsOf, requestsForPatient, same } from '../../lib/derive';
import { DATA_CLASSES, shortAddress } from '../../lib/domain';
import { describeError } from '../../lib/errors';
import { eraseMyRecords, type ErasureResult } from '../../lib/gatewayPatients';
import { hrefOf } from '../../lib/routes';

export function ErasurePage() {
  return (
    <div className="grid">
      <section className="card wide" aria-labelledby="erase-title">
        <h2 id="erase-title">Erase your records</h2>
        <p>Erasing destroys the encryption key of every heart-rate window and export the gateway stores for you. Without the key the stored ciphertext is noise: nobody — you, your doctor, a buyer or the operator — can read it again. It cannot be undone.</p>
        <p>A buyer keeps what they already read before today. Your wearable stays paired: readings it sends after the erasure are stored again; remove it on <a href={hrefOf({ name: 'onboarding' })}>your set-up page</a> first if you want nothing new kept.</p>
        <SignInGate why="The gateway erases only for the patient, signed in with their wallet." action="Sign in to erase">
          <EraseAndRetire />
        </SignInGate>
      </section>
      <OnChainRemains />
    </div>
  );
}

function EraseAndRetire() {
  const { gateway, publicClient, wallet, write, config, ledger } = useDapp();
  const erase = useTx(publicClient);
  const retire = useTx(publicClient);
  const [understood, setUnderstood] = useState(false);
  const [result, setResult] = useState<ErasureResult | null>(null);
  const active = recordsOf(ledger.events, wallet.account).filter((r) => !r.retired);

  const eraseNow = async () => {
    if (!wallet.client || !wallet.account) return;
    erase.set('signing', 'Sign the erasure request in your wallet…');
    try {
      const answer = await eraseMyRecords(gateway, { client: wallet.client, account: wallet.account, chainId: config.chainId });
      setResult(answer);
      erase.set('confirmed', `Keys destroyed: ${answer.windows_erased} heart-rate window${answer.windows_erased === 1 ? '' : 's'} and ${answer.bundles_erased} export${answer.bundles_erased === 1 ? '' : 's'} can never be decrypted again${answer.windows_already_erased ? ` (${answer.windows_already_erased} windows were erased before)` : ''}.`);
    } catch (caught) {
      erase.fail(describeError(caught));
    }
  };

  const retireAll = async () => {
    if (!write) return;
    for (const [index, record] of active.entries()) {
      const receipt = await retire.run(() => write('retireRecord', [record.recordId]), () => `Retired ${index + 1} of ${active.length} on-chain records.`);
      if (!receipt) return;
    }
  };

  return (
    <div className="erasure">
      <label className="check">
        <input type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.target.checked)} />
        I understand my records can never be read again, by anyone.
      </label>
      <button className="btn btn-danger" disabled={!understood || !wallet.client} onClick={eraseNow}>Erase my records</button>
      <TxStatus state={erase.state} testId="erase-status" />
      {(result || active.length > 0) && (
        <div className="step">
          <h3>Retire your records on-chain</h3>
          {active.length === 0 ? <p data-testid="retire-done">No active record of yours remains in the on-chain registry: nothing can be bought or read.</p> : (
            <>
              <p>{active.length} record{active.length > 1 ? 's are' : ' is'} still offered in the on-chain registry. Retiring {active.length > 1 ? 'them' : 'it'} (one transaction each, from your wallet) stops every new purchase and read.</p>
              <button className="btn" disabled={!write} onClick={retireAll}>Retire {active.length} on-chain record{active.length > 1 ? 's' : ''}</button>
            </>
          )}
          <TxStatus state={retire.state} testId="retire-status" />
        </div>
      )}
    </div>
  );
}

function OnChainRemains() {
  const { ledger, wallet } = useDapp();
  const me = wallet.account;
  const records = recordsOf(ledger.events, me);
  const requests = requestsForPatient(ledger.events, me).length;
  const bought = purchases(ledger.events).filter((p) => same(p.patient, me)).length;
  const accesses = accessHistory(ledger.events, me).length;
  return (
    <section className="card wide" aria-labelledby="remains-title">
      <h2 id="remains-title">What stays on-chain, and why it is not health data</h2>
      <p>A blockchain cannot forget. What it holds about you was chosen so that it never carries a heart rate, a reading or a screening result:</p>
      <ul data-testid="on-chain-remains">
        <li><strong>{records.length} registered record{records.length === 1 ? '' : 's'}</strong>: a random id, the data class, a version, the SHA-256 hash of the <em>encrypted</em> file and where that ciphertext is stored. Once its key is destroyed the hash points at bytes no one can decrypt.</li>
        <li><strong>{requests} consent request{requests === 1 ? '' : 's'}</strong>, <strong>{bought} purchase{bought === 1 ? '' : 's'}</strong> and <strong>{accesses} logged access{accesses === 1 ? '' : 'es'}</strong>: who asked, for which class, the price and the times. They prove what happened to your data, which is why they stay.</li>
        <li><strong>Batch anchors</strong>: Merkle roots of many patients’ encrypted windows together, sent by the storage provider, not by you. They cannot tell whose windows they hold.</li>
        <li><strong>Your address and prices.</strong> Use an address made only for PulseLedger so none of this links to your name.</li>
      </ul>
      {records.length > 0 && (
        <table data-testid="on-chain-records">
          <thead><tr><th scope="col">Record</th><th scope="col">Class</th><th scope="col">Ciphertext hash</th><th scope="col">Registry</th></tr></thead>
          <tbody>
            {records.map((r) => (
              <tr key={r.recordId} data-retired={r.retired}>
                <td title={r.recordId}>{shortAddress(r.recordId)}</td><td>{DATA_CLASSES[r.dataClass] ?? r.dataClass}</td>
                <td title={r.ciphertextHash}>{shortAddress(r.ciphertextHash)}</td><td>{r.retired ? 'retired' : 'active'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
