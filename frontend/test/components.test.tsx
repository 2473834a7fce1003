import { act, render, renderHook, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { PublicClient } from 'viem';
import { HeartChart } from '../src/components/HeartChart';
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
  it('draws the windows the storage peers write: range label, one point a reading, irregular shaded', () => {
    const [regular, irregular] = fixture.windows as WindowPayload[];
    const { container } = render(<HeartChart windows={[
      { record_id: 'a', device_id: regular.device_id, window_start_ms: regular.window_start_ms, erased: false, payload: regular },
      { record_id: 'b', device_id: irregular.device_id, window_start_ms: irregular.window_start_ms, erased: false, payload: irregular },
      { record_id: 'c', device_id: 'd', window_start_ms: 3, erased: true },
    ]} />);
    const all = [...regular.readings, ...irregular.readings].map((r) => r.heartrate);
    expect(screen.getByRole('img').getAttribute('aria-label')).toBe(`Heart rate over 2 windows, ${Math.min(...all)} to ${Math.max(...all)} bpm`);
    expect(container.querySelectorAll('rect.band-irregular')).toHaveLength(1);
    expect(container.querySelector('polyline')!.getAttribute('points')!.split(' ')).toHaveLength(all.length);
  });

  it('says so when there is nothing to draw', () => {
    render(<HeartChart windows={[]} />);
    expect(screen.getByText('No heart-rate windows yet.')).toBeTruthy();
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
