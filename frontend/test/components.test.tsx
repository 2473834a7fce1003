import { act, render, renderHook, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { PublicClient } from 'viem';
import { HeartChart } from '../src/components/HeartChart';
import { chartEpisode } from '../src/views/heart/HeartPanel';
import type { WindowPayload } from '../src/lib/gateway';
// Built by services/records/window_payload.py (a Python test checks it equals the builder's output).
import fixture from './fixtures/window-payload.json';
import { TxStatus } from '../src/components/TxStatus';
import { useTx } from '../src/hooks/useTx';

describe('TxStatus', () => {
  it('announces failures as alerts and progress as status', () => {
    const { rerender } = render(<TxStatus state={{ phase: 'failed', message: 'nope', hash: null }} />);
    expect(screen.getByRole('alert').textContent).toBe('Failed: nope');
    rerender(<TxStatus state={{ phase: 'pending', message: 'mining', hash: null }} />);
    expect(screen.getByRole('status').textContent).toBe('Pending: mining');
    rerender(<TxStatus state={{ phase: 'idle', message: null, hash: null }} />);
    expect(screen.queryByRole('status')).toBeNull();
  });
});

describe('HeartChart', () => {
  const [regular, irregular] = fixture.windows as WindowPayload[];
  const windows = [
    { record_id: 'a', device_id: regular.device_id, window_start_ms: regular.window_start_ms, erased: false, payload: regular },
    { record_id: 'b', device_id: irregular.device_id, window_start_ms: irregular.window_start_ms, erased: false, payload: irregular },
    { record_id: 'c', device_id: 'd', window_start_ms: 3, erased: true },
  ];
  const fromMs = Math.min(regular.window_start_ms, irregular.window_start_ms);
  const toMs = Math.max(regular.window_start_ms, irregular.window_start_ms) + 10_000;

  it('draws the windows the storage peers write: time and bpm axes, one point a reading, windows shaded by result', () => {
    const alert = { kind: 'episode_started' as const, device_id: irregular.device_id, record_id: 'b', window_start_ms: irregular.window_start_ms, episode_start_ms: irregular.window_start_ms, message: 'screen' };
    const { container } = render(<HeartChart windows={windows} alerts={[alert]} fromMs={fromMs} toMs={toMs} />);
    const all = [...regular.readings, ...irregular.readings].map((r) => r.heartrate);
    const label = screen.getByRole('img').getAttribute('aria-label')!;
    expect(label).toMatch(new RegExp(`^${all.length} readings in 2 windows, .* heart rate ${Math.min(...all)}–${Math.max(...all)} bpm; 1 windows screened irregular; 1 alert\\.$`));
    expect(container.querySelectorAll('rect.band-irregular')).toHaveLength(1);
    expect(container.querySelectorAll('rect.band-regular')).toHaveLength(1);
    const points = [...container.querySelectorAll('polyline.hr-line')].flatMap((line) => line.getAttribute('points')!.split(' '));
    expect(points).toHaveLength(all.length);
    const ticks = [...container.querySelectorAll('.axis text')].map((t) => t.textContent);
    expect(ticks).toContain('bpm');
    expect(ticks).toContain('time (UTC)');
    expect(ticks.some((t) => /^\d\d:\d\d(:\d\d)?$/.test(t ?? ''))).toBe(true);
    expect(container.querySelectorAll('[data-testid=alert-mark]')).toHaveLength(1);
  });

  it('breaks the line where the readings stop (a gap in wear is not bridged)', () => {
    const later = { ...regular, window_start_ms: regular.window_start_ms + 600_000, readings: regular.readings.map((r) => ({ ...r, ts_ms: r.ts_ms + 600_000 })) };
    const { container } = render(<HeartChart windows={[windows[0], { ...windows[0], record_id: 'z', window_start_ms: later.window_start_ms, payload: later }]} alerts={[]} fromMs={fromMs} toMs={later.window_start_ms + 10_000} />);
    expect(container.querySelectorAll('polyline.hr-line')).toHaveLength(2);
  });

  it('draws episodes on the same time line as the windows and alerts', () => {
    const episodes = [
      { startMs: fromMs, endMs: fromMs + 5_000, label: 'an irregular-rhythm episode from A to B' },
      { startMs: irregular.window_start_ms, endMs: toMs, label: 'an irregular-rhythm episode from C, ongoing' },
    ];
    const { container } = render(<HeartChart windows={windows} alerts={[]} fromMs={fromMs} toMs={toMs} episodes={episodes} />);
    const bars = [...container.querySelectorAll('[data-testid=episode-bar]')];
    expect(bars).toHaveLength(2);
    const band = container.querySelector('rect.band-irregular')!;
    const right = (el: Element) => Number(el.getAttribute('x')) + Number(el.getAttribute('width'));
    expect(Number(bars[1].getAttribute('x'))).toBeCloseTo(Number(band.getAttribute('x'))); // starts with its window
    expect(right(bars[1])).toBeCloseTo(right(band)); // and ends with it
    expect(right(bars[0])).toBeLessThan(right(bars[1]));
    expect(within(container).getByRole('img').getAttribute('aria-label')).toMatch(/0 alerts; an irregular-rhythm episode from A to B; an irregular-rhythm episode from C, ongoing\.$/);
    expect(within(container).getByLabelText('Legend').textContent).toContain('episode');
  });

  it('an open episode lasts as far as the windows seen, a closed one to its end', () => {
    const open = chartEpisode({ device_id: 'd', start_ms: 1_000, end_ms: null, ended: null }, 50_000);
    expect(open).toEqual({ startMs: 1_000, endMs: 50_000, label: 'an irregular-rhythm episode from 1970-01-01 00:00:01 UTC, ongoing' });
    const closed = chartEpisode({ device_id: 'd', start_ms: 1_000, end_ms: 20_000, ended: 'all_clear' }, 50_000);
    expect(closed.endMs).toBe(20_000);
    expect(closed.label).toBe('an irregular-rhythm episode from 1970-01-01 00:00:01 UTC to 1970-01-01 00:00:20 UTC');
  });

  it('says so when there is nothing to draw', () => {
    render(<HeartChart windows={[]} alerts={[]} fromMs={0} toMs={60_000} />);
    expect(screen.getByText(/^No heart-rate readings between/)).toBeTruthy();
  });
});

describe('useTx', () => {
  const receiptClient = (status: 'success' | 'reverted') => ({ waitForTransactionReceipt: async () => ({ status }) }) as unknown as PublicClient;

  it('moves from signing to confirmed with the caller’s sentence', async () => {
    const { result } = renderHook(() => useTx(receiptClient('success')));
    await act(async () => { await result.current.run(async () => '0x01', () => 'Done.'); });
    expect(result.current.state).toEqual({ phase: 'confirmed', message: 'Done.', hash: '0x01' });
  });

  it('reports a mined revert and a rejected signature as failures', async () => {
    const { result } = renderHook(() => useTx(receiptClient('reverted')));
    await act(async () => { await result.current.run(async () => '0x02'); });
    expect(result.current.state.phase).toBe('failed');
    await act(async () => { await result.current.run(async () => { throw Object.assign(new Error('no'), { code: 4001 }); }); });
    expect(result.current.state.message).toMatch(/You rejected the request/);
  });
});
