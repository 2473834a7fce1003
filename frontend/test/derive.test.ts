import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../src/hooks/useLedgerEvents';
import { accessHistory, buyBlocker, consentRequests, datasets, earningsOf, historyOf, purchases, reclaimable, recordsOf, requestsByRequester, requestsForPatient, type PurchaseRow } from '../src/lib/derive';

const P = '0x1111111111111111111111111111111111111111' as const;
const R = '0x2222222222222222222222222222222222222222' as const;
let block = 0n;
const ev = (eventName: string, args: Record<string, unknown>) => ({ eventName, args, blockNumber: ++block, transactionHash: `0x${block.toString(16).padStart(64, '0')}` }) as unknown as LedgerEvent;
const requested = (id: bigint) => ev('ConsentRequested', { requestId: id, patient: P, requester: R, purposeOfUse: '0x00', dataClasses: 4, validFrom: 1, validUntil: 2 });

describe('derivations from the event list', () => {
  it('applies decisions in chain order: the last one wins', () => {
    const events = [requested(1n), requested(2n), ev('ConsentApproved', { requestId: 1n }), ev('ConsentDenied', { requestId: 2n }), ev('ConsentRevoked', { requestId: 1n })];
    const byId = Object.fromEntries(consentRequests(events).map((r) => [r.id.toString(), r.status]));
    expect(byId).toEqual({ '1': 'Revoked', '2': 'Denied' });
  });

  it('filters by patient and by requester, case-insensitively', () => {
    const events = [requested(1n)];
    expect(requestsForPatient(events, P.toUpperCase().replace('0X', '0x'))).toHaveLength(1);
    expect(requestsByRequester(events, R)).toHaveLength(1);
    expect(requestsForPatient(events, R)).toHaveLength(0);
    expect(requestsForPatient(events, null)).toHaveLength(0);
  });

  it('tracks purchases through delivery and refund', () => {
    const events = [
      ev('PurchasePaid', { purchaseId: 258n, patient: P, buyer: R, requestId: 1n, dataClass: 2, amount: 5n }),
      ev('PurchasePaid', { purchaseId: 514n, patient: P, buyer: R, requestId: 2n, dataClass: 2, amount: 5n }),
      ev('DeliveryConfirmed', { purchaseId: 258n, patient: P, amount: 5n }),
      ev('PurchaseRefunded', { purchaseId: 514n, buyer: R, amount: 5n }),
    ];
    expect(purchases(events).map((p) => [p.purchaseId, p.delivered, p.refunded])).toEqual([[258n, true, false], [514n, false, true]]);
  });

  it('lists accesses newest first, only the patient’s', () => {
    const events = [
      ev('AccessLogged', { accessor: R, patient: P, recordId: '0xaa', purchaseId: 258n }),
      ev('AccessLogged', { accessor: R, patient: R, recordId: '0xbb', purchaseId: 1n }),
      ev('AccessLogged', { accessor: R, patient: P, recordId: '0xcc', purchaseId: 258n }),
    ];
    expect(accessHistory(events, P).map((a) => a.recordId)).toEqual(['0xcc', '0xaa']);
  });

  it('keeps records current through updates and retirement', () => {
    const events = [
      ev('RecordAdded', { recordId: '0xaa', patient: P, dataClass: 2, version: 1 }),
      ev('RecordUpdated', { recordId: '0xaa', patient: P, dataClass: 2, version: 2 }),
      ev('RecordAdded', { recordId: '0xbb', patient: P, dataClass: 2, version: 1 }),
      ev('RecordRetired', { recordId: '0xbb', patient: P }),
    ];
    expect(recordsOf(events, P).map((r) => [r.recordId, r.version, r.retired])).toEqual([['0xaa', 2, false], ['0xbb', 1, true]]);
  });

  it('lists patients who price a class and have active records of it, with counts and the period', () => {
    const events = [
      ev('PriceSet', { patient: P, dataClass: 0, price: 5n }),
      ev('PriceSet', { patient: P, dataClass: 2, price: 5n }),
      ev('PriceSet', { patient: R, dataClass: 2, price: 5n }),
      ev('RecordAdded', { recordId: '0xaa', patient: P, dataClass: 2, version: 1 }),
      ev('RecordAdded', { recordId: '0xbb', patient: P, dataClass: 0, version: 1 }),
      ev('RecordAdded', { recordId: '0xdd', patient: P, dataClass: 1, version: 1 }), // not priced
      ev('RecordAdded', { recordId: '0xcc', patient: R, dataClass: 2, version: 1 }),
      ev('RecordRetired', { recordId: '0xcc', patient: R }),
    ];
    const [only, ...rest] = datasets(events);
    expect(rest).toEqual([]);
    expect(only.patient).toBe(P);
    expect(only.counts).toEqual([1, 0, 1]);
    expect(only.lastBlock - only.firstBlock).toBe(1n);
    expect(datasets([...events, ev('PriceSet', { patient: P, dataClass: 0, price: 0n }), ev('PriceSet', { patient: P, dataClass: 2, price: 0n })])).toEqual([]);
  });
});

describe('earnings and history', () => {
  const paid = (id: bigint, amount: bigint) => ev('PurchasePaid', { purchaseId: id, patient: P, buyer: R, requestId: id >> 8n, dataClass: 2, amount, deliverBy: 9 });
  const events = [
    requested(1n), ev('ConsentApproved', { requestId: 1n, patient: P, requester: R }),
    paid(258n, 5n), ev('DeliveryConfirmed', { purchaseId: 258n, patient: P, amount: 5n }),
    paid(514n, 7n), paid(770n, 11n), ev('PurchaseRefunded', { purchaseId: 770n, buyer: R, amount: 11n }),
    ev('AccessLogged', { accessor: R, patient: P, recordId: `0x${'ab'.repeat(32)}`, purchaseId: 258n }),
    ev('Withdrawn', { account: P, to: P, amount: 5n }), ev('Withdrawn', { account: R, to: R, amount: 11n }),
  ];

  it('sums what was credited, what waits in escrow, what was refunded and withdrawn', () => {
    const earnings = earningsOf(events, P);
    expect([earnings.credited, earnings.awaiting, earnings.refunded, earnings.withdrawn]).toEqual([5n, 7n, 11n, 5n]);
    expect(earnings.rows.map((r) => r.purchaseId)).toEqual([770n, 514n, 258n]);
    expect(earningsOf(events, R).rows).toHaveLength(0);
  });

  it('tells the patient’s history newest first, each kind once per event', () => {
    expect(historyOf(events, P).map((i) => i.kind)).toEqual(['withdrawn', 'accessed', 'refunded', 'paid', 'paid', 'delivered', 'paid', 'approved', 'requested']);
  });
});

describe('what a buyer may do', () => {
  const paid: PurchaseRow = { purchaseId: 258n, requestId: 1n, dataClass: 0, amount: 5n, buyer: R, patient: P, deliverBy: 1000, delivered: false, refunded: false, block: 1n };
  it('offers reclaim after a revoke or once the delivery window has passed, never after delivery or refund', () => {
    expect(reclaimable(paid, { status: 'Approved', validUntil: 5000n }, 999)).toBe(false);
    expect(reclaimable(paid, { status: 'Approved', validUntil: 5000n }, 1000)).toBe(false);
    expect(reclaimable(paid, { status: 'Approved', validUntil: 5000n }, 1001)).toBe(true);
    expect(reclaimable(paid, { status: 'Revoked', validUntil: 5000n }, 10)).toBe(true);
    expect(reclaimable(paid, { status: 'Approved', validUntil: 5000n }, null)).toBe(false);
    expect(reclaimable({ ...paid, delivered: true }, { status: 'Revoked', validUntil: 5000n }, 2000)).toBe(false);
    expect(reclaimable({ ...paid, refunded: true }, { status: 'Revoked', validUntil: 5000n }, 2000)).toBe(false);
    // the consent's period over before deliverBy: reclaimable at once (validUntil is exclusive)
    expect(reclaimable(paid, { status: 'Approved', validUntil: 900n }, 899)).toBe(false);
    expect(reclaimable(paid, { status: 'Approved', validUntil: 900n }, 900)).toBe(true);
  });
  it('says why Buy is disabled', () => {
    expect(buyBlocker('Pending', 5n, 1)).toMatch(/approval/);
    expect(buyBlocker('Denied', 5n, 1)).toMatch(/denied/);
    expect(buyBlocker('Approved', 0n, 1)).toMatch(/not for sale/);
    expect(buyBlocker('Approved', 5n, 0)).toMatch(/no records/);
    expect(buyBlocker('Approved', 5n, 2)).toBeNull();
  });
});
