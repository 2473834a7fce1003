// A contract view read again whenever the chain head moves (events arrive), so balances stay live.
import { useEffect, useState } from 'react';
import { useDapp } from '../context';
import { describeError } from '../lib/errors';

export function useRead<T>(read: (() => Promise<T>) | null, deps: unknown[]): { value: T | null; error: string | null } {
  const { ledger } = useDapp();
  const [state, setState] = useState<{ value: T | null; error: string | null }>({ value: null, error: null });
  useEffect(() => {
    if (!read) return;
    let current = true;
    read().then(
      (value) => current && setState({ value, error: null }),
      (caught) => current && setState((previous) => ({ ...previous, error: describeError(caught) })),
    );
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ledger.head, ...deps]);
  return state;
}
