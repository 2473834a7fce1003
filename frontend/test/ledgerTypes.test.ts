// Contract calls are typed from the generated ABI: these lines are checked by `tsc` (the build runs
// it over test/ too). A `@ts-expect-error` that stops being an error fails the build.
import { describe, expect, it } from 'vitest';
import type { EventOf } from '../src/lib/events';
import type { Reader, Writer } from '../src/lib/ledger';

const PATIENT = '0x1111111111111111111111111111111111111111' as const;

function typedCalls(write: Writer, read: Reader) {
  void write('approve', [1n]);
  void write('purchase', [1n, 2, 10n], 10n);
  // @ts-expect-error -- no such function in the ABI
  void write('approv', [1n]);
  // @ts-expect-error -- requestId is a uint256 (bigint), not a string
  void write('approve', ['1']);
  // @ts-expect-error -- a view is not a write
  void write('priceOf', [PATIENT, 2]);
  const price: Promise<bigint> = read('priceOf', [PATIENT, 2]);
  // @ts-expect-error -- priceOf takes (patient, dataClass)
  void read('priceOf', [PATIENT]);
  return price;
}

function typedEvent(event: EventOf<'PurchasePaid'>): bigint {
  // @ts-expect-error -- PurchasePaid has no requester argument
  void event.args.requester;
  return event.args.amount;
}

describe('typed contract calls', () => {
  it('are checked at build time (this file compiles only if the ABI types hold)', () => {
    expect(typeof typedCalls).toBe('function');
    expect(typeof typedEvent).toBe('function');
  });
});
