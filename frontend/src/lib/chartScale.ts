// Axis arithmetic for the heart-rate chart: readable tick steps for time and bpm, and where the
// line breaks (a gap in the readings is drawn as a gap, not bridged).
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const TIME_STEPS = [10 * SECOND, 30 * SECOND, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR];

/** Tick times (ms, multiples of a round step) inside [from, to], at most `maxTicks` of them. */
export function timeTicks(fromMs: number, toMs: number, maxTicks: number): { step: number; ticks: number[] } {
  const span = Math.max(1, toMs - fromMs);
  const step = TIME_STEPS.find((s) => span / s <= Math.max(1, maxTicks)) ?? TIME_STEPS[TIME_STEPS.length - 1];
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs; t += step) ticks.push(t);
  return { step, ticks };
}

/** "14:05" (UTC), with seconds when ticks are closer than a minute. */
export function timeLabel(ms: number, step: number): string {
  const iso = new Date(ms).toISOString();
  return step < MINUTE ? iso.slice(11, 19) : iso.slice(11, 16);
}

/** A bpm range padded to tens, and ticks every 10 or 20 bpm. */
export function bpmScale(values: number[], maxTicks: number): { low: number; high: number; ticks: number[] } {
  const low = Math.floor((Math.min(...values) - 5) / 10) * 10;
  const high = Math.ceil((Math.max(...values) + 5) / 10) * 10;
  const step = [10, 20, 40].find((s) => (high - low) / s <= Math.max(1, maxTicks)) ?? 40;
  const ticks: number[] = [];
  for (let v = Math.ceil(low / step) * step; v <= high; v += step) ticks.push(v);
  return { low, high, ticks };
}

/** Split time-ordered points where consecutive readings are further apart than `gapMs`. */
export function segments<T extends { t: number }>(points: T[], gapMs: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  for (const point of points) {
    if (current.length && point.t - current[current.length - 1].t > gapMs) {
      out.push(current);
      current = [];
    }
    current.push(point);
  }
  if (current.length) out.push(current);
  return out;
}
