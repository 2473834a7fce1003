// Every PulseLedger event since the deployment block, kept current by polling new logs: the views
// derive request status, purchases and access history from this one list, so nothing needs a reload.
import { useEffect, useRef, useState } from 'react';
import type { PublicClient } from 'viem';
import { pulseLedgerAbi } from '../contracts/PulseLedger';
import type { AppConfig } from '../lib/config';
import { describeError } from '../lib/errors';
import type { LedgerEvent } from '../lib/events';

export type { LedgerEvent };

export interface LedgerEvents { events: LedgerEvent[]; head: bigint; error: string | null }

export function useLedgerEvents(client: PublicClient, config: AppConfig): LedgerEvents {
  const [state, setState] = useState<LedgerEvents>({ events: [], head: 0n, error: null });
  const nextBlock = useRef<bigint>(BigInt(config.deploymentBlock));

  useEffect(() => {
    if (!config.contract) return;
    let stopped = false;
    nextBlock.current = BigInt(config.deploymentBlock);
    const poll = async () => {
      try {
        const head = await client.getBlockNumber({ cacheTime: 0 });
        const span = BigInt(Math.max(1, config.logRangeBlocks));
        let logs: LedgerEvent[] = [];
        while (head >= nextBlock.current && !stopped) {
          const toBlock = nextBlock.current + span - 1n < head ? nextBlock.current + span - 1n : head;
          const chunk: LedgerEvent[] = await client.getContractEvents({
            address: config.contract!, abi: pulseLedgerAbi, fromBlock: nextBlock.current, toBlock, strict: true,
          });
          logs = logs.concat(chunk);
          nextBlock.current = toBlock + 1n;
        }
        const found = logs;
        if (!stopped) setState((previous) => ({ events: found.length ? [...previous.events, ...found] : previous.events, head, error: null }));
      } catch (caught) {
        if (!stopped) setState((previous) => ({ ...previous, error: `Could not read the chain: ${describeError(caught)}` }));
      }
      if (!stopped) timer = setTimeout(poll, config.pollIntervalMs);
    };
    let timer = setTimeout(poll, 0);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [client, config]);

  return state;
}
