// Pure derivations from the event list (typed by the ABI, lib/events.ts): consent requests with
// their current status, purchases, earnings, access history, records and datasets, and a patient's
// history in chain order. Events are applied in chain order, so the last decision wins.
import type { Hex } from 'viem';
import type { Address } from './config';
import type { LedgerEvent } from './events';

export type Status = 'Pending' | 'Approved' | 'Denied' | 'Revoked';

export interface ConsentRequest {
  id: bigint; patient: Address; requester: Address; purpose: Hex; dataClasses: number;
  validFrom: number; validUntil: number; status: Status; block: bigint;
}

export interface PurchaseRow {
  purchaseId: bigint; requestId: bigint; dataClass: number; amount: bigint; buyer: Address; patient: Address;
  deliverBy: number; delivered: boolean; refunded: boolean; block: bigint;
}
export interface AccessRow { accessor: Address; patient: Address; recordId: Hex; purchaseId: bigint; block: bigint; tx: Hex }
export interface RecordRow {
  recordId: Hex; patient: Address; dataClass: number; version: number; ciphertextHash: Hex; locationDigest: Hex; dagRoot: Hex;
  retired: boolean; block: bigint;
}

/** Addresses compare case-insensitively (checksummed or not); no wallet (`null`) matches nobody. */
export const same = (a: string, b: string | null) => b !== null && a.toLowerCase() === b.toLowerCase();

export function consentRequests(events: readonly LedgerEvent[]): ConsentRequest[] {
  const byId = new Map<bigint, ConsentRequest>();
  for (const event of events) {
    if (event.eventName === 'ConsentRequested') {
      const a = event.args;
      byId.set(a.requestId, {
        id: a.requestId, patient: a.patient, requester: a.requester, purpose: a.purposeOfUse,
        dataClasses: a.dataClasses, validFrom: a.validFrom, validUntil: a.validUntil, status: 'Pending', block: event.blockNumber,
      });
    } else if (event.eventName === 'ConsentApproved' || event.eventName === 'ConsentDenied' || event.eventName === 'ConsentRevoked') {
      const request = byId.get(event.args.requestId);
      if (request) request.status = event.eventName === 'ConsentApproved' ? 'Approved' : event.eventName === 'ConsentDenied' ? 'Denied' : 'Revoked';
    }
  }
  return [...byId.values()].sort((x, y) => Number(y.id - x.id));
}

export function requestsForPatient(events: readonly LedgerEvent[], patient: string | null) {
  return consentRequests(events).filter((r) => same(r.patient, patient));
}

export function requestsByRequester(events: readonly LedgerEvent[], requester: string | null) {
  return consentRequests(events).filter((r) => same(r.requester, requester));
}

export function purchases(events: readonly LedgerEvent[]): PurchaseRow[] {
  const byId = new Map<bigint, PurchaseRow>();
  for (const event of events) {
    if (event.eventName === 'PurchasePaid') {
      const a = event.args;
      byId.set(a.purchaseId, {
        purchaseId: a.purchaseId, requestId: a.requestId, dataClass: a.dataClass, amount: a.amount, buyer: a.buyer,
        patient: a.patient, deliverBy: a.deliverBy, delivered: false, refunded: false, block: event.blockNumber,
      });
    } else if (event.eventName === 'DeliveryConfirmed') {
      const row = byId.get(event.args.purchaseId);
      if (row) row.delivered = true;
    } else if (event.eventName === 'PurchaseRefunded') {
      const row = byId.get(event.args.purchaseId);
      if (row) row.refunded = true;
    }
  }
  return [...byId.values()];
}

export interface Earnings { rows: PurchaseRow[]; credited: bigint; awaiting: bigint; refunded: bigint; withdrawn: bigint }

/** What a patient earned, purchase by purchase: credited once the gateway confirmed delivery. */
export function earningsOf(events: readonly LedgerEvent[], patient: string | null): Earnings {
  const rows = purchases(events).filter((p) => same(p.patient, patient)).reverse();
  const sum = (pick: (p: PurchaseRow) => boolean) => rows.filter(pick).reduce((total, p) => total + p.amount, 0n);
  let withdrawn = 0n;
  for (const event of events) if (event.eventName === 'Withdrawn' && same(event.args.account, patient)) withdrawn += event.args.amount;
  return {
    rows, withdrawn, credited: sum((p) => p.delivered), refunded: sum((p) => p.refunded),
    awaiting: sum((p) => !p.delivered && !p.refunded),
  };
}

export function accessHistory(events: readonly LedgerEvent[], patient: string | null): AccessRow[] {
  const rows: AccessRow[] = [];
  for (const e of events) {
    if (e.eventName === 'AccessLogged' && same(e.args.patient, patient)) {
      rows.push({ accessor: e.args.accessor, patient: e.args.patient, recordId: e.args.recordId, purchaseId: e.args.purchaseId, block: e.blockNumber, tx: e.transactionHash });
    }
  }
  return rows.reverse();
}

function recordsById(events: readonly LedgerEvent[]): Map<string, RecordRow> {
  const byId = new Map<string, RecordRow>();
  for (const event of events) {
    if (event.eventName === 'RecordAdded' || event.eventName === 'RecordUpdated') {
      const a = event.args;
      byId.set(a.recordId, {
        recordId: a.recordId, patient: a.patient, dataClass: a.dataClass, version: a.version,
        ciphertextHash: a.ciphertextHash, locationDigest: a.locationDigest, dagRoot: a.dagRoot, retired: false, block: event.blockNumber,
      });
    } else if (event.eventName === 'RecordRetired') {
      const record = byId.get(event.args.recordId);
      if (record) record.retired = true;
    }
  }
  return byId;
}

export function recordsOf(events: readonly LedgerEvent[], patient: string | null): RecordRow[] {
  return [...recordsById(events).values()].filter((r) => same(r.patient, patient));
}

export interface Dataset { patient: Address; counts: number[]; firstBlock: bigint; lastBlock: bigint }

/** The latest price each patient set per data class (PriceSet events; 0 = not for sale). */
export function pricesOf(events: readonly LedgerEvent[]): Map<string, bigint> {
  const prices = new Map<string, bigint>();
  for (const event of events) {
    if (event.eventName === 'PriceSet') prices.set(`${event.args.patient.toLowerCase()}/${event.args.dataClass}`, event.args.price);
  }
  return prices;
}

/** What a researcher can buy: patients who price a data class and have active records of it on
 * -chain, counted per class (unpriced classes count 0), with the blocks of the first and last such
 * record (the period the dapp shows). */
export function datasets(events: readonly LedgerEvent[], classCount = 3): Dataset[] {
  const prices = pricesOf(events);
  const byPatient = new Map<string, Dataset>();
  for (const record of recordsById(events).values()) {
    const key = record.patient.toLowerCase();
    if (record.retired || record.dataClass >= classCount || !prices.get(`${key}/${record.dataClass}`)) continue;
    const entry = byPatient.get(key) ?? { patient: record.patient, counts: Array<number>(classCount).fill(0), firstBlock: record.block, lastBlock: record.block };
    entry.counts[record.dataClass] += 1;
    if (record.block < entry.firstBlock) entry.firstBlock = record.block;
    if (record.block > entry.lastBlock) entry.lastBlock = record.block;
    byPatient.set(key, entry);
  }
  return [...byPatient.values()];
}

/** One thing that happened to a patient's consents, payments and records, for the plain-words history. */
export type HistoryItem =
  | { kind: 'requested'; block: bigint; request: ConsentRequest }
  | { kind: 'approved' | 'denied' | 'revoked'; block: bigint; requestId: bigint; requester: Address }
  | { kind: 'paid'; block: bigint; purchase: PurchaseRow }
  | { kind: 'delivered'; block: bigint; purchaseId: bigint; amount: bigint }
  | { kind: 'refunded'; block: bigint; purchaseId: bigint; amount: bigint }
  | { kind: 'accessed'; block: bigint; access: AccessRow }
  | { kind: 'withdrawn'; block: bigint; amount: bigint };

export function historyOf(events: readonly LedgerEvent[], patient: string | null): HistoryItem[] {
  const requests = new Map(consentRequests(events).map((r) => [r.id, r]));
  const bought = new Map(purchases(events).map((p) => [p.purchaseId, p]));
  const items: HistoryItem[] = [];
  for (const e of events) {
    const block = e.blockNumber;
    switch (e.eventName) {
      case 'ConsentRequested':
        if (same(e.args.patient, patient)) items.push({ kind: 'requested', block, request: requests.get(e.args.requestId)! });
        break;
      case 'ConsentApproved': case 'ConsentDenied': case 'ConsentRevoked':
        if (same(e.args.patient, patient)) {
          const kind = e.eventName === 'ConsentApproved' ? 'approved' : e.eventName === 'ConsentDenied' ? 'denied' : 'revoked';
          items.push({ kind, block, requestId: e.args.requestId, requester: e.args.requester });
        }
        break;
      case 'PurchasePaid':
        if (same(e.args.patient, patient)) items.push({ kind: 'paid', block, purchase: bought.get(e.args.purchaseId)! });
        break;
      case 'DeliveryConfirmed':
        if (same(e.args.patient, patient)) items.push({ kind: 'delivered', block, purchaseId: e.args.purchaseId, amount: e.args.amount });
        break;
      case 'PurchaseRefunded': {
        const purchase = bought.get(e.args.purchaseId);
        if (purchase && same(purchase.patient, patient)) items.push({ kind: 'refunded', block, purchaseId: e.args.purchaseId, amount: e.args.amount });
        break;
      }
      case 'AccessLogged':
        if (same(e.args.patient, patient)) {
          items.push({ kind: 'accessed', block, access: { accessor: e.args.accessor, patient: e.args.patient, recordId: e.args.recordId, purchaseId: e.args.purchaseId, block, tx: e.transactionHash } });
        }
        break;
      case 'Withdrawn':
        if (same(e.args.account, patient)) items.push({ kind: 'withdrawn', block, amount: e.args.amount });
        break;
      default:
        break;
    }
  }
  return items.reverse();
}

/** Whether the contract lets the buyer take the payment back now (PurchaseEscrow.reclaim): paid,
 * not delivered, and either the consent was revoked or the delivery window has passed. */
/** The contract's reclaim rule: undelivered, and past deliverBy or its consent no longer in force
 * (revoked, denied, or the request's period over: validFrom <= now < validUntil), by the chain's clock. */
export function reclaimable(purchase: PurchaseRow, request: { status: Status; validUntil: bigint | number }, nowS: number | null): boolean {
  if (purchase.delivered || purchase.refunded) return false;
  if (request.status === 'Revoked' || request.status === 'Denied') return true;
  return nowS !== null && (nowS > purchase.deliverBy || BigInt(nowS) >= BigInt(request.validUntil));
}

/** Why a data class cannot be bought now under this request, or null when it can. */
export function buyBlocker(requestStatus: Status, price: bigint | null, records: number): string | null {
  if (requestStatus !== 'Approved') {
    return requestStatus === 'Pending' ? 'waiting for the patient’s approval' : `the request was ${requestStatus.toLowerCase()}`;
  }
  if (price === null) return 'reading the price…';
  if (price === 0n) return 'not for sale: the patient set no price';
  if (records === 0) return 'nothing for sale yet: the patient has no records of this class';
  return null;
}
