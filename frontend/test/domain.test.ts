import { describe, expect, it } from 'vitest';
import { stringToHex } from 'viem';
import { bytes32ToPurpose, dataClassesOf, maskOf, PURPOSES, purchaseIdOf, purposeToBytes32 } from '../src/lib/domain';

describe('domain conversions', () => {
  it('encodes a purpose code left-aligned in bytes32 and shows it in words', () => {
    const encoded = purposeToBytes32('HRESCH');
    expect(encoded).toHaveLength(66);
    expect(encoded.startsWith('0x485245534348')).toBe(true); // "HRESCH", then zeros
    expect(bytes32ToPurpose(encoded)).toBe('Healthcare research (HRESCH)');
    expect(PURPOSES.map((p) => bytes32ToPurpose(purposeToBytes32(p.code)))).toHaveLength(8);
  });

  it('refuses anything but a listed code: free text would go on-chain beside the patient', () => {
    expect(() => purposeToBytes32('')).toThrow(/from the list/);
    expect(() => purposeToBytes32('arrhythmia study')).toThrow(/from the list/);
    expect(() => purposeToBytes32('hresch')).toThrow(/from the list/);
  });

  it('shows an older request\'s free-text purpose as it is', () => {
    expect(bytes32ToPurpose(stringToHex('arrhythmia study', { size: 32 }))).toBe('arrhythmia study');
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
