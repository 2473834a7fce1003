// Heart-rate windows, predictions and alerts from the gateway (signed in with the wallet), kept
// live by the gateway's change stream: a new window appears without a reload.
import { useCallback, useEffect, useState } from 'react';
import { useDapp } from '../context';
import { HeartChart } from '../components/HeartChart';
import { describeError } from '../lib/errors';
import { heartRates, type Alert, type Window } from '../lib/gateway';

export function useGatewaySignIn() {
  const { wallet, gateway } = useDapp();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [, bump] = useState(0);
  const signIn = useCallback(async () => {
    if (!wallet.client || !wallet.account) return false;
    setBusy(true);
    setError(null);
    try {
      await gateway.signIn(wallet.account, (message) => wallet.client!.signMessage({ account: wallet.account!, message }));
      bump((n) => n + 1);
      return true;
    } catch (caught) {
      setError(describeError(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }, [wallet, gateway]);
  return { signedIn: gateway.signedInAs(wallet.account), signIn, error, busy };
}

export function HeartPanel() {
  const { wallet, gateway } = useDapp();
  const session = useGatewaySignIn();
  const [windows, setWindows] = useState<Window[]>([]);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [live, setLive] = useState<'off' | 'on' | 'lost'>('off');
  const [error, setError] = useState<string | null>(null);
  const me = wallet.account;

  const refresh = useCallback(async () => {
    if (!me) return;
    try {
      const [w, a] = await Promise.all([gateway.windows(me), gateway.alerts(me)]);
      setWindows(w);
      setAlerts(a);
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [gateway, me]);

  useEffect(() => {
    if (!session.signedIn || !me) return;
    void refresh();
    const abort = new AbortController();
    // The gateway ends a stream after SSE_MAX_DURATION_S (or on restart): reconnect, resuming from
    // the last event id, backing off while it stays unreachable; refresh once to catch up.
    const follow = async () => {
      let lastId: string | undefined;
      let backoffMs = 500;
      while (!abort.signal.aborted) {
        try {
          setLive('on');
          await gateway.live(me, (event) => { lastId = event.id || lastId; backoffMs = 500; void refresh(); }, abort.signal, lastId);
        } catch { /* dropped: retry below */ }
        if (abort.signal.aborted) return;
        setLive('lost');
        await new Promise((ok) => setTimeout(ok, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 30000);
        void refresh();
      }
    };
    void follow();
    return () => abort.abort();
  }, [session.signedIn, me, gateway, refresh]);

  return (
    <section className="card wide" aria-labelledby="heart-title">
      <h2 id="heart-title">Heart rate, predictions and alerts</h2>
      {!session.signedIn ? (
        <>
          <p>Your windows are encrypted in the record store; sign in to the gateway with your wallet to read them.</p>
          <button className="btn" onClick={session.signIn} disabled={!wallet.client || session.busy}>Sign in to read my heart data</button>
        </>
      ) : (
        <>
          <p role="status" data-testid="live-state">{live === 'on' ? 'Live: new windows appear as they arrive.' : live === 'lost' ? 'Live stream interrupted; reconnecting…' : ''}</p>
          <HeartChart windows={windows} />
          <table data-testid="windows">
            <thead><tr><th scope="col">Window start (UTC)</th><th scope="col">Device</th><th scope="col">Mean bpm</th><th scope="col">Prediction</th></tr></thead>
            <tbody>
              {windows.map((w) => {
                const hr = heartRates(w.payload);
                return (
                  <tr key={w.record_id}>
                    <td>{new Date(w.window_start_ms).toISOString().slice(0, 19).replace('T', ' ')}</td>
                    <td>{w.device_id.slice(0, 12)}…</td>
                    <td>{hr.length ? Math.round(hr.reduce((s, v) => s + v, 0) / hr.length) : '—'}</td>
                    <td>{w.erased ? 'erased' : (w.payload?.prediction?.status ?? 'none')}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <FhirDownloads />
          <h3>Alerts</h3>
          {alerts.length === 0 ? <p data-testid="alerts">No alerts.</p> : (
            <ul data-testid="alerts" className="list">{alerts.map((a) => <li key={a.record_id} className="alert">{a.message}</li>)}</ul>
          )}
        </>
      )}
      {(session.error || error) && <p className="tx tx-failed" role="alert">{session.error ?? error}</p>}
    </section>
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
      <h3>Exports (FHIR)</h3>
      {(['consents', 'audit-events'] as const).map((kind) => (
        <span key={kind}>
          <button className="btn btn-flat" onClick={() => fetchBundle(kind)}>Prepare {kind === 'consents' ? 'consents' : 'access log'} export</button>
          {links[kind] && <a className="btn" data-testid={`fhir-${kind}`} href={links[kind]} download={`pulseledger-${kind}.fhir.json`}>Download {kind === 'consents' ? 'consents' : 'access log'}</a>}
        </span>
      ))}
      {error && <p className="tx tx-failed" role="alert">{error}</p>}
    </div>
  );
}
