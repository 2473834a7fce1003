import { describe, expect, it } from 'vitest';
import { bytes32ToPurpose, dataClassesOf, maskOf, purchaseIdOf, purposeToBytes32 } from '../src/lib/domain';

describe('domain conversions', () => {
  it('round-trips a purpose of use through bytes32', () => {
    const encoded = purposeToBytes32('arrhythmia study');
    expect(encoded).toHaveLength(66);
    expect(bytes32ToPurpose(encoded)).toBe('arrhythmia study');
  });

  it('refuses an empty purpose and one longer than 32 bytes', () => {
    expect(() => purposeToBytes32('')).toThrow(/required/);
    expect(() => purposeToBytes32('x'.repeat(33))).toThrow(/32 bytes/);
    expect(() => purposeToBytes32('é'.repeat(17))).toThrow(/32 bytes/); // 34 bytes in UTF-8
  });

  it('maps data classes to the contract bit mask and back', () => {
    expect(maskOf([0, 2])).toBe(5);
    expect(dataClassesOf(5)).toEqual([0, 2]);
    expect(dataClassesOf(0)).toEqual([]);
  });

  it('computes purchase ids as the contract does (requestId << 8 | dataClass)', () => {
    expect(purchaseIdOf(1n, 2)).toBe(258n);
  });
});
