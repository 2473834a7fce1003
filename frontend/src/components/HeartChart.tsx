// Heart rate over time as a person reads it: a time axis (UTC) and a bpm axis, each 10-second
// window shaded by its screening result, alerts marked and episodes drawn as a bar along the top,
// on the same time line. Plain SVG drawn at the element's real width: no chart library.
import { bpmScale, segments, timeLabel, timeTicks } from '../lib/chartScale';
import { formatTime } from '../lib/domain';
import type { Alert, Window } from '../lib/gateway';
import { useWidth } from '../hooks/useWidth';

/** An irregular-rhythm episode on the time line (an open one ends where the data seen so far ends). */
export interface ChartEpisode { startMs: number; endMs: number; label: string }

interface Props { windows: Window[]; alerts: Alert[]; fromMs: number; toMs: number; episodes?: ChartEpisode[] }

const HEIGHT = 246;
const M = { left: 44, right: 12, top: 24, bottom: 36 };
const GAP_MS = 5000; // readings arrive at 1 Hz: a longer silence is a gap in wear, not a flat line
const RESULT_CLASS: Record<string, string> = { irregular: 'band-irregular', regular: 'band-regular', insufficient_data: 'band-insufficient' };

export function HeartChart({ windows, alerts, fromMs, toMs, episodes = [] }: Props) {
  const [ref, width] = useWidth<HTMLElement>(640);
  const readable = windows.filter((w) => w.payload && !w.erased);
  const points = readable
    .flatMap((w) => w.payload!.readings.map((r) => ({ t: r?.ts_ms, hr: r?.heartrate })))
    .filter((p): p is { t: number; hr: number } => Number.isFinite(p.t) && Number.isFinite(p.hr))
    .sort((a, b) => a.t - b.t);
  if (points.length === 0) {
    return <figure className="chart" ref={ref}><figcaption>No heart-rate readings between {formatTime(fromMs)} and {formatTime(toMs)}.</figcaption></figure>;
  }
  const plotW = Math.max(120, width - M.left - M.right);
  const plotH = HEIGHT - M.top - M.bottom;
  const span = Math.max(1, toMs - fromMs);
  const x = (t: number) => M.left + ((t - fromMs) / span) * plotW;
  const values = points.map((p) => p.hr);
  const bpm = bpmScale(values, plotH / 28);
  const y = (v: number) => M.top + ((bpm.high - v) / (bpm.high - bpm.low)) * plotH;
  const time = timeTicks(fromMs, toMs, plotW / 70);
  const irregular = readable.filter((w) => w.payload!.prediction?.status === 'irregular').length;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const summary = `${points.length} readings in ${readable.length} windows, ${formatTime(points[0].t)} to ${formatTime(points[points.length - 1].t)}; heart rate ${min}–${max} bpm; ${irregular} windows screened irregular; ${alerts.length} alert${alerts.length === 1 ? '' : 's'}${episodes.length ? `; ${episodes.map((e) => e.label).join('; ')}` : ''}.`;
  return (
    <figure className="chart" ref={ref}>
      <svg width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`} role="img" aria-label={summary}>
        <defs><clipPath id="plot"><rect x={M.left} y={M.top} width={plotW} height={plotH} /></clipPath></defs>
        <g clipPath="url(#plot)">
          {readable.map((w) => (
            <rect key={w.record_id} data-result={w.payload!.prediction?.status} className={RESULT_CLASS[w.payload!.prediction?.status] ?? 'band-regular'}
              x={x(w.window_start_ms)} y={M.top} width={Math.max(1, x(w.window_start_ms + (w.payload!.window_ms || 10000)) - x(w.window_start_ms))} height={plotH} />
          ))}
          {episodes.map((e) => <rect key={e.startMs} className="band-episode" data-testid="episode-bar" x={x(e.startMs)} y={M.top} width={Math.max(2, x(e.endMs) - x(e.startMs))} height={6}><title>{e.label}</title></rect>)}
          {segments(points, GAP_MS).map((segment) => (
            <polyline key={segment[0].t} className="hr-line" fill="none" points={segment.map((p) => `${x(p.t).toFixed(1)},${y(p.hr).toFixed(1)}`).join(' ')} />
          ))}
          {alerts.map((a) => (
            <g key={`${a.device_id}-${a.window_start_ms}`} className="alert-mark" data-testid="alert-mark">
              <line x1={x(a.window_start_ms)} x2={x(a.window_start_ms)} y1={M.top} y2={M.top + plotH} />
              <path d={`M${x(a.window_start_ms) - 6},${M.top} h12 l-6,9 z`} />
              <title>Alert at {formatTime(a.window_start_ms, true)}</title>
            </g>
          ))}
        </g>
        <g className="axis" aria-hidden="true">
          <line x1={M.left} x2={M.left + plotW} y1={M.top + plotH} y2={M.top + plotH} />
          {time.ticks.map((t) => (
            <g key={t}><line x1={x(t)} x2={x(t)} y1={M.top + plotH} y2={M.top + plotH + 4} />
              <text x={x(t)} y={M.top + plotH + 16} textAnchor="middle">{timeLabel(t, time.step)}</text></g>
          ))}
          <text x={M.left + plotW} y={HEIGHT - 3} textAnchor="end" className="axis-title">time (UTC)</text>
          {bpm.ticks.map((v) => (
            <g key={v}><line className="grid" x1={M.left} x2={M.left + plotW} y1={y(v)} y2={y(v)} />
              <text x={M.left - 6} y={y(v) + 4} textAnchor="end">{v}</text></g>
          ))}
          <text x={4} y={12} className="axis-title">bpm</text>
        </g>
      </svg>
      <figcaption>{summary}</figcaption>
      <ul className="legend" aria-label="Legend">
        <li><span className="swatch band-regular" /> regular</li>
        <li><span className="swatch band-irregular" /> irregular</li>
        <li><span className="swatch band-insufficient" /> too little data</li>
        <li><span className="swatch alert-swatch" /> alert</li>
        {episodes.length > 0 && <li><span className="swatch episode-swatch" /> episode</li>}
      </ul>
    </figure>
  );
}
