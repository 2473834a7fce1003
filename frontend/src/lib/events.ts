// PulseLedger's events as viem decodes them against the generated ABI: a union discriminated by
// `eventName`, so `if (e.eventName === 'PurchasePaid') e.args.amount` is a bigint to the compiler.
import type { Log } from 'viem';
import type { LedgerAbi } from './ledger';

export type LedgerEvent = Log<bigint, number, false, undefined, true, LedgerAbi>;
export type LedgerEventName = LedgerEvent['eventName'];
export type EventOf<N extends LedgerEventName> = Extract<LedgerEvent, { eventName: N }>;

/** Narrows a decoded log to one event, with its arguments typed. */
export function isEvent<N extends LedgerEventName>(event: LedgerEvent, name: N): event is EventOf<N> {
  return event.eventName === name;
}
