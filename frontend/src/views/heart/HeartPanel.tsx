// One patient's heart data as the gateway serves it to them or to their linked doctor: the chart
// for a chosen time range (earlier / later / now), the windows page by page, and the alerts with
// their times, all live. `at` (from an alert link) opens the range around that moment.
import { useState } from 'react';
import { HeartChart, type ChartEpisode } from '../../components/HeartChart';
import type { Address } from '../../lib/config';
import { formatTime } from '../../lib/domain';
import { heartRates, type Window } from '../../lib/gateway';
import { useHeartData, type Range } from '../../hooks/useHeartData';
import type { BurdenDay, Episode } from '../../lib/gatewayPatients';

const MINUTE = 60_000;
const SPANS: { label: string; spanMs: number | null }[] = [
  { label: '15 min', spanMs: 15 * MINUTE }, { label: '1 hour', spanMs: 60 * MINUTE },
  { label: '3 hours', spanMs: 180 * MINUTE }, { label: 'From the start', spanMs: null },
];
const PAGE = 10;

export function initialRange(at?: number): Range {
  return at === undefined ? { spanMs: 60 * MINUTE, endMs: null } : { spanMs: 30 * MINUTE, endMs: at + 15 * MINUTE };
}

export function HeartPanel({ owner, at }: { owner: Address; at?: number }) {
  const [range, setRange] = useState<Range>(() => initialRange(at));
  const data = useHeartData(owner, range, true);
  const { windows, alerts, shown } = data;
  // "From the start": the axis spans what exists, not 1970 to now.
  const axis = range.spanMs === null && windows.length
    ? { fromMs: windows[0].window_start_ms, toMs: windows[windows.length - 1].window_start_ms + (windows[windows.length - 1].payload?.window_ms ?? 10_000) }
    : shown;
  const shift = (direction: -1 | 1) => {
    const span = range.spanMs ?? 60 * MINUTE;
    const end = (range.endMs ?? shown.toMs) + direction * span;
    setRange({ spanMs: span, endMs: direction > 0 && end >= Date.now() ? null : end });
  };
  return (
    <div className="heart">
      <div className="range" role="group" aria-label="Time range">
        {SPANS.map(({ label, spanMs }) => (
          <button key={label} className={range.spanMs === spanMs ? 'btn btn-small' : 'btn btn-flat btn-small'} aria-pressed={range.spanMs === spanMs}
            onClick={() => setRange({ spanMs, endMs: spanMs === null ? null : range.endMs })}>{label}</button>
        ))}
        <button className="btn btn-flat btn-small" onClick={() => shift(-1)} disabled={range.spanMs === null}>◀ Earlier</button>
        <button className="btn btn-flat btn-small" onClick={() => shift(1)} disabled={range.endMs === null}>Later ▶</button>
        <button className="btn btn-flat btn-small" onClick={() => setRange({ spanMs: range.spanMs ?? 60 * MINUTE, endMs: null })} disabled={range.endMs === null && range.spanMs !== null}>Now</button>
      </div>
      <p className="muted" data-testid="range">
        {range.spanMs === null ? 'From the first window' : `${formatTime(shown.fromMs)} to ${range.endMs === null ? 'now' : formatTime(shown.toMs)}`}
        {' · '}<span role="status" data-testid="live-state">{data.live === 'on' ? 'Live: new windows appear as they arrive.' : data.live === 'lost' ? 'Live stream interrupted; reconnecting…' : ''}</span>
      </p>
      {data.truncated && <p className="tx tx-pending" role="status">This range holds more than {windows.length} windows: showing the first {windows.length}. Choose a shorter range to see the rest.</p>}
      <HeartChart windows={windows} alerts={alerts} fromMs={axis.fromMs} toMs={axis.toMs} episodes={data.episodes.map((e) => chartEpisode(e, lastSeenMs(windows)))} />
      <Alerts alerts={alerts} />
      <Episodes episodes={data.episodes} />
      <Burden days={data.burden} zone={data.burdenZone} />
      <WindowsTable windows={windows} />
      {data.error && <p className="tx tx-failed" role="alert">{data.error}</p>}
    </div>
  );
}

/** Where the windows shown end: an open episode is known to last that far, not into the future. */
function lastSeenMs(windows: Window[]): number {
  const last = windows[windows.length - 1];
  return last ? last.window_start_ms + (last.payload?.window_ms || 10_000) : 0;
}

/** An episode as the chart draws it, with the words its caption and tooltip use. */
export function chartEpisode(e: Episode, lastSeen: number): ChartEpisode {
  const from = formatTime(e.start_ms, true);
  if (e.end_ms !== null) return { startMs: e.start_ms, endMs: e.end_ms, label: `an irregular-rhythm episode from ${from} to ${formatTime(e.end_ms, true)}` };
  return { startMs: e.start_ms, endMs: Math.max(e.start_ms, lastSeen), label: `an irregular-rhythm episode from ${from}, ongoing` };
}

function Alerts({ alerts }: { alerts: { device_id: string; window_start_ms: number; message: string }[] }) {
  return (
    <section aria-labelledby="alerts-title">
      <h3 id="alerts-title">Alerts in this range</h3>
      {alerts.length === 0 ? <p data-testid="alerts">No alerts.</p> : (
        <ul data-testid="alerts" className="list">
          {[...alerts].reverse().map((a) => (
            <li key={`${a.device_id}-${a.window_start_ms}`} className="alert">
              <time dateTime={new Date(a.window_start_ms).toISOString()}><strong>{formatTime(a.window_start_ms, true)}</strong></time> — {a.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Episodes({ episodes }: { episodes: Episode[] }) {
  if (episodes.length === 0) return null;
  return (
    <section aria-labelledby="episodes-title">
      <h3 id="episodes-title">Episodes in this range</h3>
      <ul data-testid="episodes" className="list">
        {[...episodes].reverse().map((e) => (
          <li key={`${e.device_id}-${e.start_ms}`}>
            From <strong>{formatTime(e.start_ms, true)}</strong>{' '}
            {e.end_ms === null ? '— ongoing' : e.ended === 'all_clear' ? `to ${formatTime(e.end_ms, true)} (ended: regular again)` : `— data stopped by ${formatTime(e.end_ms, true)}`}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** AF burden: the share of monitored time the screen found irregular, per day (a screen, not a diagnosis). */
function Burden({ days, zone }: { days: BurdenDay[]; zone: string }) {
  return (
    <section aria-labelledby="burden-title">
      <h3 id="burden-title">Irregular-rhythm burden, last 7 days ({zone})</h3>
      {days.length === 0 ? <p data-testid="burden">No monitored time yet.</p> : (
        <table data-testid="burden">
          <thead><tr><th scope="col">Day</th><th scope="col">Monitored</th><th scope="col">Irregular</th></tr></thead>
          <tbody>
            {days.map((d) => (
              <tr key={d.date}>
                <td>{d.date}</td>
                <td>{Math.round(d.monitored_s / 60)} min</td>
                <td>{d.burden === null ? '—' : `${(d.burden * 100).toFixed(1)}%`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function WindowsTable({ windows }: { windows: Window[] }) {
  const [page, setPage] = useState(0);
  const newestFirst = [...windows].reverse();
  const pages = Math.max(1, Math.ceil(newestFirst.length / PAGE));
  const shownPage = Math.min(page, pages - 1);
  const rows = newestFirst.slice(shownPage * PAGE, shownPage * PAGE + PAGE);
  return (
    <section aria-labelledby="windows-title">
      <h3 id="windows-title">Windows</h3>
      <table data-testid="windows">
        <thead><tr><th scope="col">Start (UTC)</th><th scope="col" className="hide-narrow">Device</th><th scope="col">Mean bpm</th><th scope="col">Screening</th></tr></thead>
        <tbody>
          {rows.map((w) => {
            const hr = heartRates(w.payload);
            return (
              <tr key={w.record_id} data-result={w.erased ? 'erased' : w.payload?.prediction?.status}>
                <td>{formatTime(w.window_start_ms, true)}</td>
                <td className="hide-narrow" title={w.device_id}>{w.device_id.slice(0, 12)}…</td>
                <td>{hr.length ? Math.round(hr.reduce((s, v) => s + v, 0) / hr.length) : '—'}</td>
                <td>{w.erased ? 'erased' : (w.payload?.prediction?.status ?? 'none').replace('_', ' ')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <nav className="pager" aria-label="Windows pages">
        <button className="btn btn-flat btn-small" onClick={() => setPage(shownPage - 1)} disabled={shownPage === 0}>Newer</button>
        <span data-testid="windows-page">{newestFirst.length === 0 ? 'No windows' : `Windows ${shownPage * PAGE + 1}–${shownPage * PAGE + rows.length} of ${newestFirst.length}`}</span>
        <button className="btn btn-flat btn-small" onClick={() => setPage(shownPage + 1)} disabled={shownPage >= pages - 1}>Older</button>
      </nav>
    </section>
  );
}
