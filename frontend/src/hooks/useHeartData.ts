// A patient's windows and alerts in a time range, kept live by the gateway's change stream (the
// gateway ends a stream after SSE_MAX_DURATION_S or on restart: reconnect from the last event id,
// backing off while it stays unreachable, and refresh once to catch up).
import { useCallback, useEffect, useRef, useState } from 'react';
import { useDapp } from '../context';
import type { Address } from '../lib/config';
import { describeError } from '../lib/errors';
import type { Alert, Window } from '../lib/gateway';
import { alertsBetween, burdenOf, windowsBetween, type BurdenDay, type Episode } from '../lib/gatewayPatients';

export const MAX_WINDOWS = 1000; // the gateway's page cap (MAX_LIST_LIMIT)
const FUTURE_SLACK_MS = 60_000;
const BURDEN_DAYS = 7; // the AF burden table: the last week, per day in the patient's zone
const DAY_MS = 86_400_000; // "now" includes windows stamped by a device whose clock runs a little ahead

/** `spanMs` null: from the first window; `endMs` null: up to now, moving as new windows arrive. */
export interface Range { spanMs: number | null; endMs: number | null }
export interface Shown { fromMs: number; toMs: number }
export interface HeartData {
  windows: Window[]; alerts: Alert[]; episodes: Episode[]; burden: BurdenDay[]; burdenZone: string; shown: Shown; truncated: boolean; loading: boolean; error: string | null;
  live: 'off' | 'on' | 'lost';
}

export function resolveRange(range: Range, now: number): Shown {
  const toMs = range.endMs ?? now + FUTURE_SLACK_MS;
  return { fromMs: range.spanMs === null ? 0 : toMs - range.spanMs, toMs };
}

export function useHeartData(owner: Address, range: Range, enabled: boolean): HeartData {
  const { gateway } = useDapp();
  const [state, setState] = useState<Omit<HeartData, 'live'>>({
    windows: [], alerts: [], episodes: [], burden: [], burdenZone: 'UTC', shown: resolveRange(range, Date.now()), truncated: false, loading: true, error: null,
  });
  const [live, setLive] = useState<'off' | 'on' | 'lost'>('off');
  const { spanMs, endMs } = range;

  const refresh = useCallback(async () => {
    if (!enabled) return;
    const shown = resolveRange({ spanMs, endMs }, Date.now());
    try {
      const [w, a, b] = await Promise.all([
        windowsBetween(gateway, owner, shown.fromMs, shown.toMs, MAX_WINDOWS),
        alertsBetween(gateway, owner, shown.fromMs, shown.toMs),
        burdenOf(gateway, owner, Date.now() - BURDEN_DAYS * DAY_MS),
      ]);
      setState({
        windows: w.windows, truncated: w.truncated, alerts: a.alerts, episodes: a.episodes ?? [], burden: b.days, burdenZone: b.time_zone,
        shown, loading: false, error: null,
      });
    } catch (caught) {
      setState((previous) => ({ ...previous, loading: false, error: describeError(caught) }));
    }
  }, [gateway, owner, spanMs, endMs, enabled]);

  // The stream outlives range changes: it calls whichever refresh is current.
  const current = useRef(refresh);
  current.current = refresh;
  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    const follow = async () => {
      let lastId: string | undefined;
      let backoffMs = 500;
      while (!abort.signal.aborted) {
        try {
          setLive('on');
          await gateway.live(owner, (event) => { lastId = event.id || lastId; backoffMs = 500; void current.current(); }, abort.signal, lastId);
        } catch { /* dropped: retry below */ }
        if (abort.signal.aborted) return;
        setLive('lost');
        await new Promise((ok) => setTimeout(ok, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 30000);
        void current.current();
      }
    };
    void follow();
    return () => abort.abort();
  }, [enabled, owner, gateway]);

  return { ...state, live };
}
