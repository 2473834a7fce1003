// @vitest-environment node
// The gateway client against a real HTTP server on 127.0.0.1 (a small stand-in speaking the
// gateway's documented wire format; the real gateway is exercised by the e2e suite).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { verifyMessage } from 'viem';
import { GatewayError } from '../src/lib/errors';
import { GatewayClient, heartRates, parseSseBlock, siweMessage, type WindowPayload } from '../src/lib/gateway';
// Built by services/records/window_payload.py (a Python test checks it equals the builder's output).
import fixture from './fixtures/window-payload.json';

const stored = fixture.windows as WindowPayload[];

const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
let server: Server;
let base = '';
const seen: { auth?: string; signedMessage?: string; verified?: boolean; lastEventId?: string } = {};

const body = (request: IncomingMessage) => new Promise<string>((ok) => {
  let text = '';
  request.on('data', (chunk) => (text += chunk));
  request.on('end', () => ok(text));
});

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const json = (status: number, value: unknown) => response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
    if (request.url === '/auth/nonce') return json(200, { nonce: 'abcdef0123456789', domain: 'gw.test', uri: 'http://gw.test', chain_id: 31337, statement: 'Sign in to PulseLedger.' });
    if (request.url === '/auth/sign-in') {
      const { message, signature } = JSON.parse(await body(request));
      seen.signedMessage = message;
      seen.verified = await verifyMessage({ address: account.address, message, signature });
      return json(200, { token: 'tok-123', address: account.address, expires_at: 0 });
    }
    if (request.url?.startsWith('/patients/')) {
      seen.auth = request.headers.authorization;
      if (request.url.endsWith('/live')) {
        seen.lastEventId = request.headers['last-event-id'] as string | undefined;
        response.writeHead(200, { 'Content-Type': 'text/event-stream' });
        response.write(': heartbeat\n\n');
        response.write('id: 7\nevent: window_added\ndata: {"kind": "window_added", "record_id": "w1"}\n\n');
        response.end('id: 8\nevent: window_anchored\ndata: {"kind": "window_anchored", "record_id": "w1"}\n\n');
        return;
      }
      return json(200, { windows: [{ record_id: 'w1', device_id: 'd', window_start_ms: 1, erased: false, payload: stored[0] }] });
    }
    return json(403, { error: 'no_consent', message: 'consent is not in force' });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

describe('heartRates', () => {
  it('reads readings[].heartrate of windows in the format the storage peers write', () => {
    expect(heartRates(stored[0])).toEqual([70, 77, 75, 73, 71, 78, 76, 74, 72, 70]);
    expect(heartRates(stored[1])).toHaveLength(10);
    expect(heartRates(stored[1]).every((bpm) => bpm > 30 && bpm < 200)).toBe(true);
  });

  it('draws nothing for a missing payload or a shape that is not the window format', () => {
    expect(heartRates(undefined)).toEqual([]);
    expect(heartRates({ readings: [{ bpm: 70 }], hr: [70] } as unknown as WindowPayload)).toEqual([]);
  });
});

describe('gateway client', () => {
  it('builds the EIP-4361 text the gateway parses', () => {
    expect(siweMessage({ domain: 'gw.test', address: account.address, statement: 'Sign in to PulseLedger.', uri: 'http://gw.test', chainId: 31337, nonce: 'abcdef0123456789', issuedAt: new Date('2026-11-24T14:00:00.000Z') }))
      .toBe(`gw.test wants you to sign in with your Ethereum account:\n${account.address}\n\nSign in to PulseLedger.\n\nURI: http://gw.test\nVersion: 1\nChain ID: 31337\nNonce: abcdef0123456789\nIssued At: 2026-11-24T14:00:00.000Z`);
  });

  it('leaves the statement line out when the gateway has none', () => {
    const text = siweMessage({ domain: 'gw.test', address: account.address, statement: '', uri: 'http://gw.test', chainId: 1, nonce: 'abcdef0123456789', issuedAt: new Date(0) });
    expect(text.split('\n').slice(1, 4)).toEqual([account.address, '', '']);
    expect(text).toContain('\n\nURI: http://gw.test\n');
    expect(text).not.toContain('\n\n\n\n');
  });

  it('signs in with personal_sign and then sends the bearer token', async () => {
    const client = new GatewayClient(base);
    expect(client.signedInAs(account.address)).toBe(false);
    await client.signIn(account.address, (message) => account.signMessage({ message }));
    expect(seen.verified).toBe(true);
    expect(seen.signedMessage).toMatch(/^gw\.test wants you to sign in/);
    expect(client.signedInAs(account.address)).toBe(true);
    const windows = await client.windows(account.address);
    expect(heartRates(windows[0].payload)).toEqual(stored[0].readings.map((r) => r.heartrate));
    expect(seen.auth).toBe('Bearer tok-123');
  });

  it('turns JSON refusals into GatewayError with the code and message', async () => {
    const client = new GatewayClient(base);
    const error = await client.readRecord('0x01', 258n).catch((caught) => caught);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ status: 403, code: 'no_consent', message: 'consent is not in force' });
  });

  it('reads the live stream event by event, skipping heartbeats', async () => {
    const client = new GatewayClient(base);
    const events: string[] = [];
    await client.live(account.address, (event) => events.push(`${event.id}:${event.event}:${event.data.record_id}`), new AbortController().signal);
    expect(events).toEqual(['7:window_added:w1', '8:window_anchored:w1']);
    expect(seen.lastEventId).toBeUndefined();
    await client.live(account.address, () => {}, new AbortController().signal, '8');
    expect(seen.lastEventId).toBe('8');
  });

  it('parses SSE blocks, ignoring comments and bad JSON', () => {
    expect(parseSseBlock(': heartbeat')).toBeNull();
    expect(parseSseBlock('event: x\ndata: {not json')).toBeNull();
    expect(parseSseBlock('data: {"a":\ndata: 1}')?.data).toEqual({ a: 1 }); // data lines join with newlines
    expect(parseSseBlock('id: 1\ndata: {"kind":"k"}')).toEqual({ id: '1', event: 'message', data: { kind: 'k' } });
  });
});
