// Pure derivations from the event list: consent requests with their current status, purchases and
// the access history. Events are applied in chain order, so the last decision wins.
import type { Hex } from 'viem';
import type { LedgerEvent } from '../hooks/useLedgerEvents';
import type { Address } from './config';

export type Status = 'Pending' | 'Approved' | 'Denied' | 'Revoked';

export interface ConsentRequest {
  id: bigint; patient: Address; requester: Address; purpose: Hex; dataClasses: number;
  validFrom: number; validUntil: number; status: Status; block: bigint;
}

export interface PurchaseRow { purchaseId: bigint; requestId: bigint; dataClass: number; amount: bigint; buyer: Address; patient: Address; delivered: boolean; refunded: boolean }
export interface AccessRow { accessor: Address; patient: Address; recordId: Hex; purchaseId: bigint; block: bigint; tx: Hex }
export interface RecordRow { recordId: Hex; patient: Address; dataClass: number; version: number; retired: boolean }

const DECIDED: Record<string, Status | undefined> = { ConsentApproved: 'Approved', ConsentDenied: 'Denied', ConsentRevoked: 'Revoked' };
const same = (a: unknown, b: string | null) => typeof a === 'string' && b !== null && a.toLowerCase() === b.toLowerCase();

export function consentRequests(events: LedgerEvent[]): ConsentRequest[] {
  const byId = new Map<bigint, ConsentRequest>();
  for (const event of events) {
    const a = event.args;
    if (event.eventName === 'ConsentRequested') {
      byId.set(a.requestId as bigint, {
        id: a.requestId as bigint, patient: a.patient as Address, requester: a.requester as Address,
        purpose: a.purposeOfUse as Hex, dataClasses: Number(a.dataClasses), validFrom: Number(a.validFrom),
        validUntil: Number(a.validUntil), status: 'Pending', block: event.blockNumber,
      });
    }
    const next = DECIDED[event.eventName];
    const request = next && byId.get(a.requestId as bigint);
    if (request && next) request.status = next;
  }
  return [...byId.values()].sort((x, y) => Number(y.id - x.id));
}

export function requestsForPatient(events: LedgerEvent[], patient: string | null) {
  return consentRequests(events).filter((r) => same(r.patient, patient));
}

export function requestsByRequester(events: LedgerEvent[], requester: string | null) {
  return consentRequests(events).filter((r) => same(r.requester, requester));
}

export function purchases(events: LedgerEvent[]): PurchaseRow[] {
  const byId = new Map<bigint, PurchaseRow>();
  for (const { eventName, args: a } of events) {
    if (eventName === 'PurchasePaid') {
      byId.set(a.purchaseId as bigint, {
        purchaseId: a.purchaseId as bigint, requestId: a.requestId as bigint, dataClass: Number(a.dataClass),
        amount: a.amount as bigint, buyer: a.buyer as Address, patient: a.patient as Address, delivered: false, refunded: false,
      });
    } else if (eventName === 'DeliveryConfirmed' && byId.has(a.purchaseId as bigint)) byId.get(a.purchaseId as bigint)!.delivered = true;
    else if (eventName === 'PurchaseRefunded' && byId.has(a.purchaseId as bigint)) byId.get(a.purchaseId as bigint)!.refunded = true;
  }
  return [...byId.values()];
}

export function accessHistory(events: LedgerEvent[], patient: string | null): AccessRow[] {
  return events
    .filter((e) => e.eventName === 'AccessLogged' && same(e.args.patient, patient))
    .map((e) => ({ accessor: e.args.accessor as Address, patient: e.args.patient as Address, recordId: e.args.recordId as Hex, purchaseId: e.args.purchaseId as bigint, block: e.blockNumber, tx: e.transactionHash }))
    .reverse();
}

export function recordsOf(events: LedgerEvent[], patient: string | null): RecordRow[] {
  const byId = new Map<string, RecordRow>();
  for (const { eventName, args: a } of events) {
    if ((eventName === 'RecordAdded' || eventName === 'RecordUpdated') && same(a.patient, patient)) {
      byId.set(a.recordId as string, { recordId: a.recordId as Hex, patient: a.patient as Address, dataClass: Number(a.dataClass), version: Number(a.version), retired: false });
    } else if (eventName === 'RecordRetired' && byId.has(a.recordId as string)) byId.get(a.recordId as string)!.retired = true;
  }
  return [...byId.values()];
}

export interface Dataset { patient: Address; counts: number[] }

/** Patients with active records on-chain, with how many per data class (what a requester can ask for). */
export function datasets(events: LedgerEvent[]): Dataset[] {
  const byPatient = new Map<string, { patient: Address; records: Map<string, { dataClass: number; retired: boolean }> }>();
  for (const { eventName, args: a } of events) {
    if (eventName === 'RecordAdded' || eventName === 'RecordUpdated') {
      const key = (a.patient as string).toLowerCase();
      const entry = byPatient.get(key) ?? { patient: a.patient as Address, records: new Map() };
      entry.records.set(a.recordId as string, { dataClass: Number(a.dataClass), retired: false });
      byPatient.set(key, entry);
    } else if (eventName === 'RecordRetired') {
      const record = byPatient.get((a.patient as string).toLowerCase())?.records.get(a.recordId as string);
      if (record) record.retired = true;
    }
  }
  return [...byPatient.values()]
    .map(({ patient, records }) => {
      const counts = [0, 0, 0];
      for (const record of records.values()) if (!record.retired && record.dataClass < counts.length) counts[record.dataClass] += 1;
      return { patient, counts };
    })
    .filter((d) => d.counts.some((n) => n > 0));
}
