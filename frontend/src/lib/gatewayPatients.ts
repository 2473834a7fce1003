// The gateway calls for onboarding, the patient's profile, the doctor's list, time-ranged heart
// data and erasure (docs/gateway.md). Every write is an EIP-712 message the wallet signs over a
// fresh gateway nonce, in the gateway's domain (no verifying contract: the gateway checks it).
import type { Hex, WalletClient } from 'viem';
import type { Address } from './config';
import type { Alert, GatewayClient, Window } from './gateway';
import { mergeParts } from './windowParts';

const STRING = 'string' as const;
export const GATEWAY_TYPES = {
  RegisterDevice: [{ name: 'owner', type: 'address' }, { name: 'deviceId', type: STRING }, { name: 'publicKey', type: 'bytes32' }, { name: 'nonce', type: STRING }],
  UnpairDevice: [{ name: 'owner', type: 'address' }, { name: 'deviceId', type: STRING }, { name: 'nonce', type: STRING }],
  SetContacts: [{ name: 'owner', type: 'address' }, { name: 'emails', type: 'string[]' }, { name: 'nonce', type: STRING }],
  SetProfile: [{ name: 'owner', type: 'address' }, { name: 'name', type: STRING }, { name: 'timeZone', type: STRING }, { name: 'nonce', type: STRING }],
  LinkDoctor: [{ name: 'owner', type: 'address' }, { name: 'doctor', type: 'address' }, { name: 'doctorEmail', type: STRING }, { name: 'nonce', type: STRING }],
  EraseRecords: [{ name: 'owner', type: 'address' }, { name: 'statement', type: STRING }, { name: 'nonce', type: STRING }],
} as const;
/** Must equal services/gateway/routes_erasure.py STATEMENT: the wallet shows it before signing. */
export const ERASE_STATEMENT = 'Erase my PulseLedger records: destroy the keys of my heart-rate windows and exports. This cannot be undone.';

/** `contacts` get alerts; `waiting` were mailed a confirmation link and get nothing until it comes back (a doctor's `email` is null until then). */
export interface Profile { owner: Address; name: string | null; time_zone: string; devices: { device_id: string; public_key: Hex }[]; contacts: string[]; waiting: Waiting[]; doctor: { address: Address; email: string | null } | null }
export interface Waiting { email: string; purpose: 'contact' | 'doctor' }
export interface ContactsSaved { contacts: number; waiting: number; confirmations_sent: number }
export interface EmailConfirmed { owner: Address; purpose: 'contact' | 'doctor'; email: string }
export interface DoctorPatient { address: Address; devices: string[] }
export interface ErasureResult {
  owner: Address; windows_erased: number; windows_already_erased: number; bundles_erased: number;
  on_chain_records: { record_id: Hex; data_class: number; active: boolean; key_destroyed: boolean }[];
  to_retire: Hex[];
}
export interface Episode { device_id: string; start_ms: number; end_ms: number | null; ended: 'all_clear' | 'lapsed' | null }
export interface AlertsAnswer { k: number; n: number; windows_examined: number; alerts: Alert[]; episodes: Episode[] }
export interface BurdenDay { date: string; monitored_s: number; irregular_s: number; burden: number | null }

interface Signer { client: WalletClient; account: Address; chainId: number }

async function signed<P extends keyof typeof GATEWAY_TYPES>(gateway: GatewayClient, signer: Signer, primaryType: P, message: Record<string, unknown>) {
  const { nonce } = await gateway.json<{ nonce: string }>('/auth/nonce');
  const full = { ...message, owner: signer.account, nonce };
  const signature = await signer.client.signTypedData({
    account: signer.account,
    domain: { name: 'PulseLedger Gateway', version: '1', chainId: signer.chainId },
    types: { [primaryType]: GATEWAY_TYPES[primaryType] } as Record<string, readonly { name: string; type: string }[]>,
    primaryType,
    message: full,
  } as Parameters<WalletClient['signTypedData']>[0]);
  return { nonce, signature };
}

const post = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

/** `pairingCode`: the device's consent to be paired, shown beside its id (services/ingest/pairing.py). */
export async function pairDevice(gateway: GatewayClient, signer: Signer, deviceId: string, publicKey: Hex, pairingCode: string) {
  const { nonce, signature } = await signed(gateway, signer, 'RegisterDevice', { deviceId, publicKey });
  return gateway.json<{ device_id: string }>('/onboarding/device', post({ owner: signer.account, device_id: deviceId, public_key: publicKey, pairing_code: pairingCode, nonce, signature }));
}

/** The patient removes a wearable (replaced, lost, sold): its readings are refused from now on; its windows stay theirs. */
export async function unpairDevice(gateway: GatewayClient, signer: Signer, deviceId: string) {
  const { nonce, signature } = await signed(gateway, signer, 'UnpairDevice', { deviceId });
  return gateway.json<{ unpaired: boolean }>('/onboarding/device/unpair', post({ owner: signer.account, device_id: deviceId, nonce, signature }));
}

export async function setContacts(gateway: GatewayClient, signer: Signer, emails: string[]) {
  const { nonce, signature } = await signed(gateway, signer, 'SetContacts', { emails });
  return gateway.json<ContactsSaved>('/onboarding/contacts', post({ owner: signer.account, emails, nonce, signature }));
}

export async function setProfile(gateway: GatewayClient, signer: Signer, name: string, timeZone: string) {
  const { nonce, signature } = await signed(gateway, signer, 'SetProfile', { name, timeZone });
  return gateway.json<{ time_zone: string }>('/onboarding/profile', post({ owner: signer.account, name, time_zone: timeZone, nonce, signature }));
}

export async function linkDoctor(gateway: GatewayClient, signer: Signer, doctor: Address, doctorEmail: string) {
  const { nonce, signature } = await signed(gateway, signer, 'LinkDoctor', { doctor, doctorEmail });
  return gateway.json<{ doctor: Address; email_confirmed: boolean }>('/onboarding/doctor', post({ owner: signer.account, doctor, doctor_email: doctorEmail, nonce, signature }));
}

/** The secret a named address was mailed comes back: no wallet, no sign-in (services/gateway/email_confirmations.py). */
export const confirmEmail = (gateway: GatewayClient, token: string) =>
  gateway.json<EmailConfirmed>('/onboarding/emails/confirm', post({ token }));

/** The link at the end of an alert email: its recipient gets no more of this patient's alerts (services/notify/stop_links.py). */
export const stopEmails = (gateway: GatewayClient, owner: Address, email: string, token: string) =>
  gateway.json<{ owner: Address; email: string; stopped: boolean }>('/onboarding/emails/stop', post({ owner, email, token }));

export async function eraseMyRecords(gateway: GatewayClient, signer: Signer) {
  const { nonce, signature } = await signed(gateway, signer, 'EraseRecords', { statement: ERASE_STATEMENT });
  return gateway.json<ErasureResult>(`/patients/${signer.account}/erasure`, post({ nonce, signature }));
}

export const profileOf = (gateway: GatewayClient, owner: Address) => gateway.json<Profile>(`/patients/${owner}/profile`);

export const myPatients = (gateway: GatewayClient) =>
  gateway.json<{ patients: DoctorPatient[] }>('/doctor/patients').then((r) => r.patients);

/** Windows (with payloads) starting in [fromMs, toMs), oldest first, at most `limit`. */
export async function windowsBetween(gateway: GatewayClient, owner: Address, fromMs: number, toMs: number, limit: number) {
  const { windows } = await gateway.json<{ windows: Window[] }>(`/patients/${owner}/windows?payload=true&since_ms=${Math.max(0, Math.floor(fromMs))}&limit=${limit}`);
  return { windows: mergeParts(windows.filter((w) => w.window_start_ms < toMs)), truncated: windows.length >= limit && windows[windows.length - 1].window_start_ms < toMs };
}

export const burdenOf = (gateway: GatewayClient, owner: Address, sinceMs: number) =>
  gateway.json<{ time_zone: string; days: BurdenDay[] }>(`/patients/${owner}/burden?since_ms=${Math.max(0, Math.floor(sinceMs))}`);

export async function alertsBetween(gateway: GatewayClient, owner: Address, fromMs: number, toMs: number) {
  const answer = await gateway.json<AlertsAnswer>(`/patients/${owner}/alerts?since_ms=${Math.max(0, Math.floor(fromMs))}`);
  return { ...answer, alerts: answer.alerts.filter((a) => a.window_start_ms < toMs) };
}
