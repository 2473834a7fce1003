// Contract writes as the views issue them: simulate first (decoded revert before the wallet opens),
// then hand the prepared request to the wallet.
import type { Hash, PublicClient, WalletClient } from 'viem';
import { pulseLedgerAbi } from '../contracts/PulseLedger';
import type { Address } from './config';

type Abi = typeof pulseLedgerAbi;

export interface Writer {
  (functionName: string, args: readonly unknown[], value?: bigint): Promise<Hash>;
}

export function writerFor(publicClient: PublicClient, walletClient: WalletClient, contract: Address): Writer {
  return async (functionName, args, value) => {
    // Names and arguments are checked by the views' call sites; viem still encodes against the ABI.
    const simulate = publicClient.simulateContract as unknown as (p: Record<string, unknown>) => Promise<{ request: unknown }>;
    const { request } = await simulate({ account: walletClient.account!, address: contract, abi: pulseLedgerAbi as Abi, functionName, args, value });
    return walletClient.writeContract(request as never);
  };
}
