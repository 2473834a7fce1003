// The gateway's HTTP API as the dapp uses it (docs/gateway.md): EIP-4361 sign-in, the patient's
// windows and alerts, the live change stream, the gasless consent relay and buyer record reads.
import type { Hex } from 'viem';
import { createSiweMessage } from 'viem/siwe';
import { GatewayError } from './errors';
import type { Address } from './config';

/** `part_of`: a later part of the window with that record id (readings stored after it: services/records, "A window's parts"). */
export interface Window { record_id: string; device_id: string; window_start_ms: number; erased: boolean; part_of?: string | null; payload?: WindowPayload }
/** A window record's payload, as services/records/window_payload.py defines and storage peers write it (docs/records.md). */
export interface WindowPayload {
  device_id: string;
  window_start_ms: number;
  window_ms: number;
  readings: WindowReading[];
  prediction: { status: 'regular' | 'irregular' | 'insufficient_data'; [key: string]: unknown };
}
export interface WindowReading { seq: number; ts_ms: number; heartrate: number; rr: number[] }

/** Beats per minute of a window's readings, in reading order (`readings[].heartrate`). */
export function heartRates(payload: WindowPayload | undefined): number[] {
  if (!payload || !Array.isArray(payload.readings)) return [];
  return payload.readings.map((r) => r?.heartrate).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}
export interface Alert {
  kind: 'episode_started' | 'reminder' | 'all_clear' | 'lapsed'; device_id: string; record_id: string;
  window_start_ms: number; episode_start_ms: number; message: string;
}
export interface LiveEvent { id: string; event: string; data: { kind?: string; record_id?: string; at_ms?: number } }
export type PersonalSign = (message: string) => Promise<Hex>;

/** The EIP-4361 message the wallet signs, built by viem from the values the gateway's nonce answer names. */
export function siweMessage(fields: { domain: string; address: Address; statement: string; uri: string; chainId: number; nonce: string; issuedAt: Date }): string {
  return createSiweMessage({ ...fields, statement: fields.statement || undefined, version: '1' });
}

export class GatewayClient {
  private token: string | null = null;
  private tokenOwner: string | null = null;
  private readonly sessionListeners = new Set<() => void>();

  /** Called whenever this client signs in or out (for useSyncExternalStore). */
  onSessionChange = (listener: () => void): (() => void) => {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  };

  sessionOwner = (): string | null => this.tokenOwner;

  private sessionChanged() {
    this.sessionListeners.forEach((listener) => listener());
  }

  constructor(readonly baseUrl: string, private readonly fetchImpl: typeof fetch = (...args) => fetch(...args)) {}

  signedInAs(address: string | null): boolean {
    return this.token !== null && address !== null && this.tokenOwner === address.toLowerCase();
  }

  async signIn(address: Address, sign: PersonalSign): Promise<void> {
    const nonce = await this.json<{ nonce: string; domain: string; uri: string; chain_id: number; statement: string }>('/auth/nonce');
    const message = siweMessage({ domain: nonce.domain, address, statement: nonce.statement, uri: nonce.uri, chainId: nonce.chain_id, nonce: nonce.nonce, issuedAt: new Date() });
    const signature = await sign(message);
    const session = await this.json<{ token: string; address: string }>('/auth/sign-in', { method: 'POST', body: JSON.stringify({ message, signature }) });
    this.token = session.token;
    this.tokenOwner = session.address.toLowerCase();
    this.sessionChanged();
  }

  /** Ends the session on every gateway replica (its live streams close), then forgets the token. */
  async signOut(): Promise<void> {
    if (this.token) await this.json('/auth/sign-out', { method: 'POST' }).catch(() => undefined);
    this.token = null;
    this.tokenOwner = null;
    this.sessionChanged();
  }

  windows(owner: Address, limit = 50) {
    return this.json<{ windows: Window[] }>(`/patients/${owner}/windows?payload=true&limit=${limit}`).then((r) => r.windows);
  }

  window(owner: Address, recordId: string) {
    return this.json<Window>(`/patients/${owner}/windows/${encodeURIComponent(recordId)}`);
  }

  alerts(owner: Address) {
    return this.json<{ alerts: Alert[] }>(`/patients/${owner}/alerts`).then((r) => r.alerts);
  }

  /** FHIR R4 (validated as R4B) Bundle of the patient's consents or of the accesses to their records. */
  async fhirExport(owner: Address, kind: 'consents' | 'audit-events'): Promise<string> {
    return (await this.request(`/patients/${owner}/fhir/${kind}`)).text();
  }

  relayDecision(body: { request_id: string; decision: 'approve' | 'deny' | 'revoke'; deadline: string; signature: Hex }) {
    return this.json<{ tx_hash: Hex; block_number: number }>('/relay/consent-decision', { method: 'POST', body: JSON.stringify(body) });
  }

  async readRecord(recordId: Hex, purchaseId: bigint): Promise<{ bytes: Uint8Array; deliveryTx: string | null }> {
    const response = await this.request(`/records/${recordId}?purchase_id=${purchaseId}`);
    return { bytes: new Uint8Array(await response.arrayBuffer()), deliveryTx: response.headers.get('X-PulseLedger-Delivery-Tx') };
  }

  /** Server-Sent Events read with fetch (an EventSource cannot send the bearer token). */
  async live(owner: Address, onEvent: (event: LiveEvent) => void, signal: AbortSignal, lastEventId?: string): Promise<void> {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (lastEventId) headers['Last-Event-ID'] = lastEventId; // resume where the last stream stopped
    const response = await this.request(`/patients/${owner}/live`, { signal, headers });
    if (!response.body) throw new Error('the live stream has no body');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = parseSseBlock(block);
        if (event) onEvent(event);
      }
    }
  }

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (init.body) headers.set('Content-Type', 'application/json');
    if (this.token) headers.set('Authorization', `Bearer ${this.token}`);
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, { ...init, headers });
    if (!response.ok) {
      let code = 'error';
      let message = response.statusText || 'request failed';
      try {
        const body = (await response.json()) as { error?: string; message?: string };
        code = body.error ?? code;
        message = body.message ?? message;
      } catch { /* not JSON: keep the status text */ }
      throw new GatewayError(response.status, code, message);
    }
    return response;
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await (await this.request(path, init)).json()) as T;
  }
}

export function parseSseBlock(block: string): LiveEvent | null {
  let id = '';
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return { id, event, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}
