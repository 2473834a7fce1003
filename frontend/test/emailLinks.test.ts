// Every link in every email the system sends, from the real templates (the fixture is rendered by
// tests/dapp/email_catalog.py, and tests/listeners/test_message_links.py fails while it is stale):
// the router knows each address, it names the page the email is about, and it opens in the role
// of whoever receives the email. The Chromium e2e (e2e/roles.test.mjs) opens the same links.
import { describe, expect, it } from 'vitest';
import { roleFor } from '../src/App';
import type { LedgerEvent } from '../src/lib/events';
import { parseRoute, type Role, type Route } from '../src/lib/routes';
import catalog from './fixtures/email-links.json';

const DOCTOR = '0x3333333333333333333333333333333333333333';
const ROLE_OF_RECIPIENT: Record<string, { role: Role; account: string }> = {
  patient: { role: 'patient', account: catalog.patient },
  requester: { role: 'researcher', account: catalog.requester },
  doctor: { role: 'doctor', account: DOCTOR },
};
const PAGE: Record<string, Route> = {
  request: { name: 'request', id: BigInt(catalog.request_id) },
  purchase: { name: 'purchase', id: BigInt(catalog.purchase_id) },
  earnings: { name: 'earnings' },
  access: { name: 'access' },
  patient: { name: 'patient', address: catalog.patient as `0x${string}`, at: catalog.alert_at_ms },
};
// The chain as the recipients' dapp reads it: the request the emails are about.
const requested = {
  eventName: 'ConsentRequested', blockNumber: 1n,
  args: { requestId: BigInt(catalog.request_id), patient: catalog.patient, requester: catalog.requester, purposeOfUse: '0x00', dataClasses: 4, validFrom: 0n, validUntil: 1n },
} as unknown as LedgerEvent;

describe('email links', () => {
  it('covers the relay’s emails and the episode emails, each with one link', () => {
    const kinds = new Set(catalog.emails.map((e) => e.kind));
    expect(kinds).toEqual(new Set(['consent_requested', 'consent_approved', 'consent_denied', 'purchase_paid', 'record_accessed', 'access_digest', 'refund_claimable', 'alert', 'alert_to_doctor']));
    for (const email of catalog.emails) expect(email.links, email.kind).toHaveLength(1);
  });

  for (const email of catalog.emails) {
    it(`${email.kind}${email.variant ? ` (${email.variant})` : ''} opens the ${email.page} page as the ${email.to}`, () => {
      const url = new URL(email.links[0]);
      expect(url.origin + url.pathname).toBe(catalog.dapp_url);
      const route = parseRoute(url.hash);
      expect(route).toEqual(PAGE[email.page]);
      const recipient = ROLE_OF_RECIPIENT[email.to];
      expect(roleFor(route, recipient.account, [requested])).toBe(recipient.role);
    });
  }
});
