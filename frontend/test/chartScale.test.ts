import { describe, expect, it } from 'vitest';
import { bpmScale, segments, timeLabel, timeTicks } from '../src/lib/chartScale';

describe('chart scales', () => {
  it('picks round time steps that fit the width', () => {
    const from = Date.UTC(2026, 11, 2, 14, 3, 20);
    const { step, ticks } = timeTicks(from, from + 60 * 60_000, 8);
    expect(step).toBe(10 * 60_000);
    expect(ticks.map((t) => timeLabel(t, step))).toEqual(['14:10', '14:20', '14:30', '14:40', '14:50', '15:00']);
    expect(timeTicks(from, from + 60_000, 8).step).toBe(10_000);
    expect(timeLabel(from + 40_000, 10_000)).toBe('14:04:00');
  });

  it('pads bpm to tens with ticks every 10 or 20', () => {
    expect(bpmScale([62, 71, 88], 10)).toEqual({ low: 50, high: 100, ticks: [50, 60, 70, 80, 90, 100] });
    expect(bpmScale([45, 170], 5).ticks).toEqual([40, 80, 120, 160]);
  });

  it('cuts the line at gaps', () => {
    const points = [0, 1000, 2000, 30_000, 31_000].map((t) => ({ t }));
    expect(segments(points, 5000).map((s) => s.length)).toEqual([3, 2]);
  });
});
