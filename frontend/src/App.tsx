import { useState } from 'react';
import { useDapp } from './context';
import { WalletBar } from './components/WalletBar';
import { PatientView } from './views/PatientView';
import { RequesterView } from './views/RequesterView';

type Role = 'patient' | 'requester';

export function App() {
  const { wallet, ledger, config } = useDapp();
  const [role, setRole] = useState<Role>('patient');
  return (
    <>
      <header className="appbar">
        <h1>PulseLedger</h1>
        <WalletBar />
      </header>
      <nav className="tabs" role="tablist" aria-label="View">
        {(['patient', 'requester'] as const).map((r) => (
          <button key={r} role="tab" id={`tab-${r}`} aria-selected={role === r} aria-controls="view" className={role === r ? 'tab active' : 'tab'} onClick={() => setRole(r)}>
            {r === 'patient' ? 'Patient' : 'Requester'}
          </button>
        ))}
      </nav>
      <main id="view" role="tabpanel" aria-labelledby={`tab-${role}`}>
        {!config.contract && <p className="tx tx-failed" role="alert">No PulseLedger deployment is configured: run `pulseledger up`, then `npm run gen`, or serve a config.json.</p>}
        {ledger.error && <p className="tx tx-failed" role="alert">{ledger.error}</p>}
        {wallet.status !== 'ready' ? (
          <p className="card">Connect a wallet on {config.chainName} to see your {role === 'patient' ? 'requests, prices and heart data' : 'requests and purchases'}.</p>
        ) : role === 'patient' ? <PatientView /> : <RequesterView />}
      </main>
    </>
  );
}
