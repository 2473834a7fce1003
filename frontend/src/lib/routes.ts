// Every address the dapp answers, in one place: shareable, bookmarkable hash routes (the app is
// static files, so `#/…` works behind any web server). Emails link here: services/notify/links.py
// builds the same paths, and the e2e opens every link an email carries.
import { getAddress, isAddress } from 'viem';
import type { Address } from './config';

export type Role = 'patient' | 'doctor' | 'researcher';

export type Route =
  | { name: 'home' }
  | { name: 'heart'; at?: number }
  | { name: 'onboarding'; device?: string; code?: string }
  | { name: 'confirm-email'; token?: string }
  | { name: 'stop-emails'; owner?: Address; email?: string; token?: string }
  | { name: 'requests' }
  | { name: 'request'; id: bigint }
  | { name: 'earnings' }
  | { name: 'access' }
  | { name: 'consents' }
  | { name: 'data-classes' }
  | { name: 'erasure' }
  | { name: 'research'; patient?: Address }
  | { name: 'purchases' }
  | { name: 'purchase'; id: bigint }
  | { name: 'datasets' }
  | { name: 'doctor' }
  | { name: 'patient'; address: Address; at?: number }
  | { name: 'not-found'; path: string };

type Simple = Extract<Route, { name: 'home' | 'requests' | 'earnings' | 'access' | 'consents' | 'data-classes' | 'erasure' | 'purchases' | 'datasets' | 'doctor' }>['name'];

const SIMPLE: Record<string, Simple> = {
  '': 'home', requests: 'requests', earnings: 'earnings', access: 'access', consents: 'consents',
  'data-classes': 'data-classes', 'my-data': 'erasure', purchases: 'purchases',
  datasets: 'datasets', doctor: 'doctor',
};
const PATH_OF: Record<Simple, string> = Object.fromEntries(Object.entries(SIMPLE).map(([path, name]) => [name, path])) as Record<Simple, string>;

/** Which role's navigation a route belongs to; `null` when the wallet decides (a request, a patient's page). */
export const ROLE_OF: Record<Route['name'], Role | null> = {
  home: null, heart: 'patient', onboarding: 'patient', 'confirm-email': null, 'stop-emails': null, requests: 'patient', request: null, earnings: 'patient',
  access: 'patient', consents: 'patient', 'data-classes': 'patient', erasure: 'patient', research: 'researcher',
  purchases: 'researcher', purchase: 'researcher', datasets: 'researcher', doctor: 'doctor', patient: null,
  'not-found': null,
};

const ID = /^[0-9]{1,78}$/;
const MS = /^[0-9]{1,16}$/;

function atOf(query: URLSearchParams): number | undefined {
  const at = query.get('at');
  return at && MS.test(at) ? Number(at) : undefined;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [pathPart, queryPart = ''] = raw.split('?', 2);
  const path = pathPart.replace(/^\/+|\/+$/g, '');
  const query = new URLSearchParams(queryPart);
  const parts = path.split('/');
  if (parts.length === 1 && parts[0] in SIMPLE) return { name: SIMPLE[parts[0]] } as Route;
  const [head, id, tail] = parts;
  if (parts.length === 2 && head === 'requests' && ID.test(id)) return { name: 'request', id: BigInt(id) };
  if (parts.length === 2 && head === 'purchases' && ID.test(id)) return { name: 'purchase', id: BigInt(id) };
  if (head === 'heart' && parts.length === 1) return { name: 'heart', at: atOf(query) };
  if (head === 'research' && parts.length === 1) {
    const patient = query.get('patient') ?? '';
    return isAddress(patient, { strict: false }) ? { name: 'research', patient: getAddress(patient) } : { name: 'research' };
  }
  if (head === 'onboarding' && parts.length === 1) {
    const device = query.get('device') ?? undefined;
    const code = query.get('code') ?? undefined;
    return {
      name: 'onboarding',
      device: device && /^[1-9A-HJ-NP-Za-km-z]{1,128}$/.test(device) ? device : undefined,
      code: code && /^[0-9.A-Za-z_-]{1,128}$/.test(code) ? code : undefined,
    };
  }
  if (head === 'confirm-email' && parts.length === 1) {
    const token = query.get('token') ?? '';
    return { name: 'confirm-email', token: /^[A-Za-z0-9_-]{43}$/.test(token) ? token : undefined };
  }
  if (head === 'stop-emails' && parts.length === 1) {
    const owner = query.get('owner') ?? '';
    const email = query.get('email') ?? '';
    const token = query.get('token') ?? '';
    return {
      name: 'stop-emails',
      owner: isAddress(owner, { strict: false }) ? getAddress(owner) : undefined,
      email: email && email.length <= 254 && email.includes('@') ? email : undefined,
      token: /^[0-9a-f]{32}$/.test(token) ? token : undefined,
    };
  }
  if (head === 'patients' && isAddress(id ?? '', { strict: false }) && (parts.length === 2 || (parts.length === 3 && tail === 'heart'))) {
    return { name: 'patient', address: getAddress(id), at: atOf(query) };
  }
  return { name: 'not-found', path: raw };
}

export function hrefOf(route: Route): string {
  switch (route.name) {
    case 'request': return `#/requests/${route.id}`;
    case 'purchase': return `#/purchases/${route.id}`;
    case 'heart': return route.at === undefined ? '#/heart' : `#/heart?at=${route.at}`;
    case 'onboarding': {
      const query = new URLSearchParams();
      if (route.device) query.set('device', route.device);
      if (route.code) query.set('code', route.code);
      return query.size ? `#/onboarding?${query}` : '#/onboarding';
    }
    case 'stop-emails': {
      const query = new URLSearchParams();
      if (route.owner) query.set('owner', route.owner);
      if (route.email) query.set('email', route.email);
      if (route.token) query.set('token', route.token);
      return query.size ? `#/stop-emails?${query}` : '#/stop-emails';
    }
    case 'confirm-email': return route.token ? `#/confirm-email?token=${route.token}` : '#/confirm-email';
    case 'patient': return `#/patients/${route.address}${route.at === undefined ? '' : `?at=${route.at}`}`;
    case 'research': return route.patient ? `#/research?patient=${route.patient}` : '#/research';
    case 'not-found': return `#/${route.path}`;
    default: return `#/${PATH_OF[route.name]}`;
  }
}
