// Turns wallet, RPC, contract and gateway failures into sentences a person can act on. Contract
// reverts are decoded against the generated ABI's custom errors (viem does the decoding); the
// sentences are keyed and their arguments typed by that ABI, so a renamed error or a changed
// argument fails `tsc`.
import {
  BaseError, ContractFunctionRevertedError, decodeErrorResult, UserRejectedRequestError, type ContractErrorArgs, type ContractErrorName, type Hex,
} from 'viem';
import { pulseLedgerAbi } from '../contracts/PulseLedger';
import { CONSENT_STATUS, DATA_CLASSES, PURCHASE_STATUS, formatEth } from './domain';
import type { LedgerAbi } from './ledger';

export type LedgerErrorName = ContractErrorName<LedgerAbi>;
export type ErrorSentences = { [N in LedgerErrorName]?: (args: ContractErrorArgs<LedgerAbi, N>) => string };

/** Hand-written sentences for the errors people meet in the dapp; others are spelled out from their name. */
const SENTENCES: ErrorSentences = {
  // Argument order as the contract reverts: (the patient's price, what the buyer offered / sent).
  PurchaseEscrowWrongPrice: ([price, offered]) =>
    `The price changed or the amount is wrong: the patient asks ${formatEth(price)}, you offered ${formatEth(offered)}.`,
  PurchaseEscrowWrongValue: ([price, sent]) =>
    `The amount sent (${formatEth(sent)}) does not equal the price (${formatEth(price)}).`,
  PurchaseEscrowNotForSale: ([, dataClass]) => `The patient has not put data class ${String(dataClass)} up for sale (price 0).`,
  PurchaseEscrowConsentNotApproved: ([requestId, status]) =>
    `Consent request #${String(requestId)} is ${CONSENT_STATUS[Number(status)] ?? status}, not Approved: you cannot buy under it.`,
  PurchaseEscrowAlreadyPurchased: ([purchaseId]) => `Purchase ${String(purchaseId)} was already made; open a new request to buy again.`,
  PurchaseEscrowNothingToWithdraw: () => 'There is nothing to withdraw: your escrow credit is 0.',
  AccessLogConsentNotApproved: ([requestId, status]) =>
    `Access refused: consent request #${String(requestId)} is ${CONSENT_STATUS[Number(status)] ?? status}.`,
  AccessLogNotPaid: ([purchaseId, status]) =>
    `Access refused: purchase ${String(purchaseId)} is ${PURCHASE_STATUS[Number(status)] ?? status}.`,
  AccessLogOutsideConsentPeriod: ([requestId]) => `Access refused: consent request #${String(requestId)} is outside its period.`,
  ConsentRegistryWrongStatus: ([requestId, status]) =>
    `Request #${String(requestId)} is ${CONSENT_STATUS[Number(status)] ?? status}: that decision is not possible now.`,
  ConsentRegistryNotPatient: ([requestId]) => `Only the patient of request #${String(requestId)} can decide on it.`,
  ConsentRegistryRequestExpired: ([requestId]) =>
    `Request #${String(requestId)} has ended: its period is over, so it can no longer be approved. The requester can ask again.`,
  ConsentRegistryAlreadyGranted: ([requestId, dataClass, grantId]) =>
    `Request #${String(requestId)} cannot be approved yet: request #${String(grantId)} of the same requester already covers ${DATA_CLASSES[Number(dataClass)] ?? `data class ${String(dataClass)}`} and has not ended. A requester holds one grant per data class at a time: revoke #${String(grantId)} first, or approve this one once it ends.`,
  PurchaseEscrowConsentNotInForce: ([purchaseId]) =>
    `Purchase ${String(purchaseId)} can no longer be delivered: its consent was revoked or its period ended. The buyer can reclaim the payment.`,
  PriceBookNotWholeGwei: () => 'Prices are whole gwei (at most 9 decimals of ETH): round the price and try again.',
  ConsentRegistrySignatureExpired: () => 'The signed decision expired before it was relayed; sign again.',
  ConsentRegistryInvalidSigner: () => 'The signature is not the patient’s.',
  EnforcedPause: () => 'The contract is paused by its owner; requests and purchases are stopped for now.',
};

export function sentenceForError(name: string, args: readonly unknown[] = []): string {
  // The one untyped step: a name and arguments decoded at run time, matched to the typed table.
  const known = (SENTENCES as Record<string, ((args: readonly unknown[]) => string) | undefined>)[name];
  if (known) return known(args);
  const words = name
    .replace(/^(AccessLog|ConsentRegistry|PurchaseEscrow|PriceBook|RecordRegistry|PulseLedger)/, '$1: ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  const shown = args.length ? ` (${args.map(String).join(', ')})` : '';
  return `The contract refused: ${words}${shown}.`;
}

/** Decode raw revert data (0x + selector + args) against the PulseLedger ABI. */
export function sentenceForRevertData(data: Hex): string | null {
  try {
    const decoded = decodeErrorResult({ abi: pulseLedgerAbi, data });
    return sentenceForError(decoded.errorName, (decoded.args ?? []) as readonly unknown[]);
  } catch {
    return null;
  }
}

export class GatewayError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

interface Coded { code?: number; message?: string; data?: unknown }

export function describeError(error: unknown): string {
  if (error instanceof GatewayError) return `Gateway refused (${error.status} ${error.code}): ${error.message}`;
  if (error instanceof BaseError) {
    if (error.walk((e) => e instanceof UserRejectedRequestError)) return 'You rejected the request in your wallet. Nothing was sent.';
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      if (revert.data?.errorName) return sentenceForError(revert.data.errorName, (revert.data.args ?? []) as readonly unknown[]);
      if (revert.raw) return sentenceForRevertData(revert.raw) ?? revert.shortMessage;
      return revert.reason ? `The contract refused: ${revert.reason}` : revert.shortMessage;
    }
    return error.shortMessage;
  }
  const coded = error as Coded;
  if (coded && typeof coded === 'object' && coded.code === 4001) return 'You rejected the request in your wallet. Nothing was sent.';
  if (coded && typeof coded.data === 'string' && coded.data.startsWith('0x')) {
    const sentence = sentenceForRevertData(coded.data as Hex);
    if (sentence) return sentence;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
