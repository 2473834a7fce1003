// Contract calls are typed from the generated ABI: these lines are checked by `tsc` (the build runs
// it over test/ too). A `@ts-expect-error` that stops being an error fails the build.
import { describe, expect, it } from 'vitest';
import type { ErrorSentences } from '../src/lib/errors';
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

// The dapp's sentences for custom errors: keyed by the ABI's error names, arguments typed.
const sentences: ErrorSentences = {
  PurchaseEscrowWrongPrice: ([price, offered]) => `${price - offered}`, // both uint256: bigint
};
const misspelt: ErrorSentences = {
  // @ts-expect-error -- no such error in the ABI
  PurchaseEscrowWrongPrise: () => '',
};
const mistyped: ErrorSentences = {
  // @ts-expect-error -- ConsentRegistryNotPatient's requestId is a bigint, not a string
  ConsentRegistryNotPatient: ([requestId]: readonly [string]) => requestId,
};

describe('typed contract calls', () => {
  it('are checked at build time (this file compiles only if the ABI types hold)', () => {
    expect(typeof typedCalls).toBe('function');
    expect(typeof typedEvent).toBe('function');
    expect(sentences.PurchaseEscrowWrongPrice?.([3n, 1n])).toBe('2');
    expect([misspelt, mistyped].every((table) => Object.keys(table).length === 1)).toBe(true);
  });
});
