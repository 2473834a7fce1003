import type { TxState } from '../hooks/useTx';

const LABEL: Record<string, string> = { signing: 'Waiting for wallet', pending: 'Pending', confirmed: 'Confirmed', failed: 'Failed' };

/** Announced to screen readers (aria-live) so a keyboard user hears the outcome without moving focus. */
export function TxStatus({ state, testId }: { state: TxState; testId?: string }) {
  if (state.phase === 'idle') return null;
  return (
    <p className={`tx tx-${state.phase}`} role={state.phase === 'failed' ? 'alert' : 'status'} aria-live="polite" data-testid={testId}>
      <strong>{LABEL[state.phase]}:</strong> {state.message}
    </p>
  );
}
