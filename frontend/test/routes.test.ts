import { describe, expect, it } from 'vitest';
import { roleFor } from '../src/App';
import type { LedgerEvent } from '../src/lib/events';
import { hrefOf, parseRoute, ROLE_OF, type Route } from '../src/lib/routes';

const PATIENT = '0x1111111111111111111111111111111111111111';
const DOCTOR = '0x3333333333333333333333333333333333333333';
const REQUESTER = '0x2222222222222222222222222222222222222222';

describe('routes', () => {
  it('opens every address an email carries on the page it names', () => {
    // The links services/notify/links.py writes (every email kind: test/emailLinks.test.ts).
    expect(parseRoute('#/requests/12')).toEqual({ name: 'request', id: 12n });
    expect(parseRoute('#/purchases/3074')).toEqual({ name: 'purchase', id: 3074n });
    expect(parseRoute('#/earnings')).toEqual({ name: 'earnings' });
    expect(parseRoute('#/access')).toEqual({ name: 'access' });
    expect(parseRoute(`#/patients/${PATIENT}?at=1700000000000`)).toEqual({ name: 'patient', address: PATIENT, at: 1700000000000 });
    expect(parseRoute('#/onboarding?device=12D3KooW9pP4Seg3kZYhySpuVjn1RPdQBsUFZKiFxGMGQN5MeL6A')).toEqual({ name: 'onboarding', device: '12D3KooW9pP4Seg3kZYhySpuVjn1RPdQBsUFZKiFxGMGQN5MeL6A' });
  });

  it('round-trips every route through its address', () => {
    const routes: Route[] = [
      { name: 'home' }, { name: 'heart' }, { name: 'heart', at: 5 }, { name: 'onboarding' }, { name: 'requests' }, { name: 'request', id: 7n },
      { name: 'earnings' }, { name: 'access' }, { name: 'consents' }, { name: 'data-classes' }, { name: 'erasure' }, { name: 'research' },
      { name: 'research', patient: PATIENT }, { name: 'purchases' }, { name: 'purchase', id: 263n }, { name: 'datasets' }, { name: 'doctor' },
      { name: 'patient', address: PATIENT }, { name: 'confirm-email', token: 'Ab_-'.repeat(10) + 'x9Z' }, { name: 'confirm-email' },
      { name: 'stop-emails', owner: PATIENT, email: 'dr+alerts@clinic.example', token: 'ab'.repeat(16) }, { name: 'stop-emails' },
      { name: 'onboarding', device: '12D3KooW9pP4Seg3kZYhySpuVjn1RPdQBsUFZKiFxGMGQN5MeL6A', code: `1800000000000.${'Ab_-'.repeat(21)}x9` },
    ];
    for (const route of routes) expect(parseRoute(hrefOf(route))).toEqual(route);
    expect(new Set(routes.map((r) => r.name)).size).toBe(Object.keys(ROLE_OF).length - 1); // every route but not-found
  });

  it('refuses malformed addresses instead of guessing', () => {
    expect(parseRoute('#/requests/abc').name).toBe('not-found');
    expect(parseRoute('#/patients/0x12').name).toBe('not-found');
    expect(parseRoute('#/heart?at=soon')).toEqual({ name: 'heart', at: undefined });
    expect(parseRoute('#/onboarding?device=<script>')).toEqual({ name: 'onboarding', device: undefined });
    expect(parseRoute('#/onboarding?code=<script>')).toEqual({ name: 'onboarding', code: undefined });
    expect(parseRoute('#/confirm-email?token=short')).toEqual({ name: 'confirm-email', token: undefined });
    expect(parseRoute(`#/stop-emails?owner=0x12&email=x&token=${'g'.repeat(32)}`)).toEqual({ name: 'stop-emails', owner: undefined, email: undefined, token: undefined });
    expect(parseRoute('')).toEqual({ name: 'home' });
  });

  it('gives shared addresses the role the wallet plays in them', () => {
    const requested = { eventName: 'ConsentRequested', args: { requestId: 1n, patient: PATIENT, requester: REQUESTER, purposeOfUse: '0x00', dataClasses: 4, validFrom: 1, validUntil: 2 }, blockNumber: 1n } as unknown as LedgerEvent;
    const request: Route = { name: 'request', id: 1n };
    expect(roleFor(request, PATIENT, [requested])).toBe('patient');
    expect(roleFor(request, REQUESTER, [requested])).toBe('researcher');
    const patientPage: Route = { name: 'patient', address: PATIENT };
    expect(roleFor(patientPage, PATIENT.toUpperCase().replace('0X', '0x'), [])).toBe('patient');
    expect(roleFor(patientPage, DOCTOR, [])).toBe('doctor');
    expect(roleFor({ name: 'earnings' }, null, [])).toBe('patient');
  });
});
