import { describe, expect, it } from 'vitest';
import type { Window, WindowReading } from '../src/lib/gateway';
import { mergeParts } from '../src/lib/windowParts';

const reading = (seq: number): WindowReading => ({ seq, ts_ms: 1_000 * seq, heartrate: 60 + seq, rr: [] });
const window = (id: string, seqs: number[], status: 'regular' | 'irregular', partOf: string | null = null): Window => ({
  record_id: id, device_id: 'd', window_start_ms: 0, erased: false, part_of: partOf,
  payload: { device_id: 'd', window_start_ms: 0, window_ms: 10_000, readings: seqs.map(reading), prediction: { status } },
});

describe('a window and its later parts', () => {
  it('draws them as one window: every reading once, in time order, with the window’s own screen result', () => {
    const merged = mergeParts([window('w', [0, 1, 5], 'regular'), window('p1', [2, 3, 5], 'irregular', 'w'), window('p2', [4], 'irregular', 'w'), window('x', [9], 'regular')]);
    expect(merged.map((w) => w.record_id)).toEqual(['w', 'x']);
    expect(merged[0].payload?.readings.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(merged[0].payload?.prediction.status).toBe('regular');
  });

  it('keeps a part whose window is not listed (or unreadable) as it is', () => {
    const alone = window('p1', [2], 'irregular', 'gone');
    expect(mergeParts([alone])).toEqual([alone]);
    const unreadable = { ...window('w', [], 'regular'), payload: undefined };
    expect(mergeParts([unreadable, window('p1', [2], 'irregular', 'w')]).map((w) => w.record_id)).toEqual(['w', 'p1']);
  });
});
