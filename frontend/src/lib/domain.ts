// The contract's enums and the small conversions the views share (docs/decisions/2026-11-24-contracts.md).
import { formatEther, hexToString, stringToHex, type Hex } from 'viem';
import { ConsentDecision, ConsentStatus, DataClass, PurchaseStatus } from '../contracts/enums';

/** Names by value, from the enums generated from the contracts (tools/gen_chain_enums.py). */
const namesOf = <T extends Record<string, number>>(members: T) =>
  Object.entries(members).sort(([, a], [, b]) => a - b).map(([name]) => name as keyof T & string);

/** Each data class in words, indexed by its value in the contract. */
const DATA_CLASS_WORDS: Record<keyof typeof DataClass, string> = {
  HEART_RATE_WINDOWS: 'Heart-rate windows', PREDICTIONS_ALERTS: 'Predictions and alerts', EXPORTS: 'Exports',
};
export const DATA_CLASSES: readonly string[] = namesOf(DataClass).map((name) => DATA_CLASS_WORDS[name]);

/** What a buyer of each data class receives, in words a patient can weigh before selling it. */
export const DATA_CLASS_CONTENTS: readonly string[] = [
  'Every 10-second window your wearable recorded: the time of each reading, your heart rate in beats per minute and, when the device measures them, the intervals between beats.',
  'The screening result of each window (regular, irregular, or too little data to judge) and the alerts raised when several windows in a row looked irregular. A screen, not a diagnosis.',
  'Files you or your storage provider published for sale, e.g. a month of windows as one document: what the file holds is described where it is offered.',
];
export const CONSENT_STATUS = namesOf(ConsentStatus);

/** The consent rule in the patient's words: the same sentence as the contract (isAllowed), the gateway
 * and docs/decisions/2026-12-02-consent-semantics.md. */
export const CONSENT_RULE =
  'A requester may use a kind of your data exactly while a request of theirs that you approved, and have not revoked, covers it and is within its dates. ' +
  'Each requester holds at most one such approval per kind of data at a time; an approval for later waits until the current one ends.';

/** What the revoke button does, in the patient's words. */
export const REVOKE_EFFECT =
  'Revoking ends this one request at once: the requester can no longer buy or read under it, and may take back a payment you have not yet been credited for. Their other requests are unaffected.';
export const PURCHASE_STATUS = namesOf(PurchaseStatus);
export const DECISION = { approve: ConsentDecision.Approve, deny: ConsentDecision.Deny, revoke: ConsentDecision.Revoke } as const;
export type DecisionName = keyof typeof DECISION;

export function dataClassesOf(mask: number): number[] {
  return DATA_CLASSES.map((_, index) => index).filter((index) => (mask >> index) & 1);
}

export function maskOf(classes: number[]): number {
  return classes.reduce((mask, index) => mask | (1 << index), 0);
}

/** The HL7 v3 PurposeOfUse codes the contract takes (ConsentRegistry._isPurposeCode), in words: only
 * a code goes on-chain beside the patient's address, never free text (docs/privacy.md). */
export const PURPOSES: readonly { code: string; words: string }[] = [
  { code: 'HRESCH', words: 'Healthcare research' },
  { code: 'CLINTRL', words: 'Clinical trial' },
  { code: 'PUBHLTH', words: 'Public health' },
  { code: 'TREAT', words: 'Treatment' },
  { code: 'ETREAT', words: 'Emergency treatment' },
  { code: 'CAREMGT', words: 'Care management' },
  { code: 'HOPERAT', words: 'Healthcare operations' },
  { code: 'PATRQT', words: 'At the patient’s request' },
];

export function purposeToBytes32(code: string): Hex {
  if (!PURPOSES.some((purpose) => purpose.code === code)) {
    throw new Error(`Choose a purpose of use from the list (${PURPOSES.map((p) => p.code).join(', ')}).`);
  }
  return stringToHex(code, { size: 32 });
}

/** A request's purpose in words ("Healthcare research (HRESCH)"); a request from before the contract
 * checked the code may hold other text, shown as it is. */
export function bytes32ToPurpose(value: Hex): string {
  let text: string;
  try {
    text = hexToString(value, { size: 32 }).replace(/\0+$/, '');
  } catch {
    return value;
  }
  const known = PURPOSES.find((purpose) => purpose.code === text);
  return known ? `${known.words} (${known.code})` : text;
}

export function purchaseIdOf(requestId: bigint, dataClass: number): bigint {
  return (requestId << 8n) | BigInt(dataClass);
}

export function formatEth(wei: bigint): string {
  return `${formatEther(wei)} ETH`;
}

/** A moment as a person reads it, in UTC so every reader (and every screenshot) agrees. */
export function formatTime(ms: number, withSeconds = false): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, withSeconds ? 19 : 16)} UTC`;
}

export function formatPeriod(from: number, until: number): string {
  const day = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
  return `${day(from)} → ${day(until)} UTC`;
}

export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}
