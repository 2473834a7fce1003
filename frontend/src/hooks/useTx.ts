// One contract write with its states: simulate (a revert is decoded before the wallet opens),
// sign in the wallet, wait for the receipt. Failures become sentences (lib/errors.ts).
import { useCallback, useState } from 'react';
import type { Hash, PublicClient, TransactionReceipt } from 'viem';
import { describeError } from '../lib/errors';

export type TxPhase = 'idle' | 'signing' | 'pending' | 'confirmed' | 'failed';
export interface TxState { phase: TxPhase; message: string | null; hash: Hash | null }

export function useTx(publicClient: PublicClient) {
  const [state, setState] = useState<TxState>({ phase: 'idle', message: null, hash: null });

  const run = useCallback(async (send: () => Promise<Hash>, done?: (receipt: TransactionReceipt) => string): Promise<TransactionReceipt | null> => {
    setState({ phase: 'signing', message: 'Waiting for your wallet…', hash: null });
    try {
      const hash = await send();
      setState({ phase: 'pending', message: 'Transaction sent, waiting to be mined…', hash });
      const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
      if (receipt.status !== 'success') {
        setState({ phase: 'failed', message: 'The transaction was mined but reverted.', hash });
        return null;
      }
      setState({ phase: 'confirmed', message: done ? done(receipt) : 'Confirmed.', hash });
      return receipt;
    } catch (caught) {
      setState({ phase: 'failed', message: describeError(caught), hash: null });
      return null;
    }
  }, [publicClient]);

  const fail = useCallback((message: string) => setState({ phase: 'failed', message, hash: null }), []);
  const set = useCallback((phase: TxPhase, message: string) => setState({ phase, message, hash: null }), []);
  return { state, run, fail, set };
}
