// The dapp's gasless consent decision hashes exactly as Python's (services/chain/eip712.py), whose
// typehash a Python test checks against the contract: the vector and its digest are generated there.
import { hashTypedData } from 'viem';
import { describe, expect, it } from 'vitest';
import { consentDecisionVector } from '../src/contracts/consentTypedData';
import { consentDecisionTypedData } from '../src/lib/consentTypedData';

describe('consent decision typed data', () => {
  it('hashes the generated vector to the digest Python computed', () => {
    const { digest, ...fields } = consentDecisionVector;
    expect(hashTypedData(consentDecisionTypedData(fields))).toBe(digest);
  });

  it('signs what it says: another decision or nonce is another digest', () => {
    const { digest, ...fields } = consentDecisionVector;
    expect(hashTypedData(consentDecisionTypedData({ ...fields, decision: 3 }))).not.toBe(digest);
    expect(hashTypedData(consentDecisionTypedData({ ...fields, nonce: fields.nonce + 1n }))).not.toBe(digest);
  });
});
