import { heartRates, type Window } from '../lib/gateway';

/** Heart rate of recent windows as one SVG line; irregular windows are shaded. Small on purpose: no chart library. */
export function HeartChart({ windows }: { windows: Window[] }) {
  const series = windows.map((w) => ({ w, hr: heartRates(w.payload) })).filter((s) => s.hr.length > 0);
  if (series.length === 0) return <p>No heart-rate windows yet.</p>;
  const values = series.flatMap((s) => s.hr);
  const low = Math.min(...values) - 5;
  const high = Math.max(...values) + 5;
  const width = 600;
  const height = 160;
  const step = width / Math.max(values.length - 1, 1);
  const y = (v: number) => height - ((v - low) / (high - low || 1)) * height;
  let index = 0;
  const bands = series.map(({ w, hr }) => {
    const start = index;
    index += hr.length;
    return { w, x: start * step, width: (hr.length - 1) * step };
  });
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={`Heart rate over ${series.length} windows, ${Math.min(...values)} to ${Math.max(...values)} bpm`}>
        {bands.map(({ w, x, width: bandWidth }) => (
          <rect key={w.record_id} x={x} y={0} width={Math.max(bandWidth, 2)} height={height} className={w.payload?.prediction?.status === 'irregular' ? 'band-irregular' : 'band'} />
        ))}
        <polyline points={points} fill="none" stroke="currentColor" strokeWidth={2} />
      </svg>
      <figcaption>{values.length} readings in {series.length} windows (bpm {Math.min(...values)}–{Math.max(...values)}); shaded windows were predicted irregular.</figcaption>
    </figure>
  );
}
