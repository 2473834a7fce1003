import { act, render, renderHook, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { PublicClient } from 'viem';
import { HeartChart } from '../src/components/HeartChart';
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
  it('labels the chart with its range and shades irregular windows', () => {
    const { container } = render(<HeartChart windows={[
      { record_id: 'a', device_id: 'd', window_start_ms: 1, erased: false, payload: { hr: [60, 70], prediction: { status: 'regular' } } },
      { record_id: 'b', device_id: 'd', window_start_ms: 2, erased: false, payload: { readings: [{ bpm: 90 }, { bpm: 80 }], prediction: { status: 'irregular' } } },
      { record_id: 'c', device_id: 'd', window_start_ms: 3, erased: true },
    ]} />);
    expect(screen.getByRole('img').getAttribute('aria-label')).toBe('Heart rate over 2 windows, 60 to 90 bpm');
    expect(container.querySelectorAll('rect.band-irregular')).toHaveLength(1);
    expect(container.querySelector('polyline')!.getAttribute('points')!.split(' ')).toHaveLength(4);
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
