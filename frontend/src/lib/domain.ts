// The contract's enums and the small conversions the views share (docs/decisions/2026-11-24-contracts.md).
import { formatEther, hexToString, stringToHex, type Hex } from 'viem';

export const DATA_CLASSES = ['Heart-rate windows', 'Predictions and alerts', 'Exports'] as const;
export const CONSENT_STATUS = ['None', 'Pending', 'Approved', 'Denied', 'Revoked'] as const;
export const PURCHASE_STATUS = ['None', 'Paid', 'Delivered', 'Refunded'] as const;
export const DECISION = { approve: 1, deny: 2, revoke: 3 } as const;
export type DecisionName = keyof typeof DECISION;

export function dataClassesOf(mask: number): number[] {
  return DATA_CLASSES.map((_, index) => index).filter((index) => (mask >> index) & 1);
}

export function maskOf(classes: number[]): number {
  return classes.reduce((mask, index) => mask | (1 << index), 0);
}

export function purposeToBytes32(purpose: string): Hex {
  const bytes = new TextEncoder().encode(purpose);
  if (bytes.length === 0) throw new Error('Purpose of use is required.');
  if (bytes.length > 32) throw new Error('Purpose of use must fit in 32 bytes (it is stored as bytes32).');
  return stringToHex(purpose, { size: 32 });
}

export function bytes32ToPurpose(value: Hex): string {
  try {
    return hexToString(value, { size: 32 }).replace(/\0+$/, '');
  } catch {
    return value;
  }
}

export function purchaseIdOf(requestId: bigint, dataClass: number): bigint {
  return (requestId << 8n) | BigInt(dataClass);
}

export function formatEth(wei: bigint): string {
  return `${formatEther(wei)} ETH`;
}

export function formatPeriod(from: number, until: number): string {
  const day = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
  return `${day(from)} → ${day(until)} UTC`;
}

export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}
