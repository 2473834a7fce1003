import { describe, expect, it } from 'vitest';
import { BaseError, ContractFunctionRevertedError, encodeErrorResult, parseEther, UserRejectedRequestError } from 'viem';
import { pulseLedgerAbi } from '../src/contracts/PulseLedger';
import { describeError, GatewayError, sentenceForError, sentenceForRevertData } from '../src/lib/errors';

describe('contract errors in words', () => {
  it('decodes raw revert data against the generated ABI', () => {
    const data = encodeErrorResult({ abi: pulseLedgerAbi, errorName: 'PurchaseEscrowWrongPrice', args: [parseEther('0.001'), parseEther('0.002')] });
    expect(sentenceForRevertData(data)).toBe('The price changed or the amount is wrong: the patient asks 0.001 ETH, you offered 0.002 ETH.');
  });

  it('names the consent status of a refused access', () => {
    const data = encodeErrorResult({ abi: pulseLedgerAbi, errorName: 'AccessLogConsentNotApproved', args: [7n, 4] });
    expect(sentenceForRevertData(data)).toBe('Access refused: consent request #7 is Revoked.');
  });

  it('explains why an approval waits: one grant per requester and data class', () => {
    const data = encodeErrorResult({ abi: pulseLedgerAbi, errorName: 'ConsentRegistryAlreadyGranted', args: [9n, 2, 4n] });
    expect(sentenceForRevertData(data)).toMatch(/^Request #9 cannot be approved yet: request #4 of the same requester already covers .+ revoke #4 first, or approve this one once it ends\.$/);
  });

  it('says an ended request cannot be approved', () => {
    const data = encodeErrorResult({ abi: pulseLedgerAbi, errorName: 'ConsentRegistryRequestExpired', args: [3n, 1_800_000_000] });
    expect(sentenceForRevertData(data)).toBe('Request #3 has ended: its period is over, so it can no longer be approved. The requester can ask again.');
  });

  it('spells out errors without a hand-written sentence', () => {
    expect(sentenceForError('RecordRegistryRecordExists', ['0xab'])).toBe('The contract refused: record registry: record exists (0xab).');
  });

  it('returns null for data that is no PulseLedger error', () => {
    expect(sentenceForRevertData('0xdeadbeef')).toBeNull();
  });

  it('decodes a viem ContractFunctionRevertedError found inside a wrapper', () => {
    const data = encodeErrorResult({ abi: pulseLedgerAbi, errorName: 'PurchaseEscrowNothingToWithdraw', args: ['0x0000000000000000000000000000000000000001'] });
    const inner = new ContractFunctionRevertedError({ abi: pulseLedgerAbi, data, functionName: 'withdraw' });
    const outer = new BaseError('call failed', { cause: inner });
    expect(describeError(outer)).toBe('There is nothing to withdraw: your escrow credit is 0.');
  });

  it('says the person rejected the request, for viem errors and raw EIP-1193 errors', () => {
    const viemRejection = new BaseError('wrapped', { cause: new UserRejectedRequestError(new Error('User rejected the request.')) });
    expect(describeError(viemRejection)).toMatch(/You rejected the request in your wallet/);
    expect(describeError({ code: 4001, message: 'User rejected' })).toMatch(/You rejected the request in your wallet/);
  });

  it('shows gateway refusals with their status and code', () => {
    expect(describeError(new GatewayError(403, 'no_consent', 'consent is not in force'))).toBe('Gateway refused (403 no_consent): consent is not in force');
  });
});
