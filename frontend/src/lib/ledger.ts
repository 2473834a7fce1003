// Contract calls typed from the generated `as const` ABI: a function name that does not exist, or
// arguments of the wrong shape, fail `tsc`, not the user. Writes are simulated first (a revert is
// decoded before the wallet opens), then handed to the wallet; reads return the ABI's types.
import type {
  ContractFunctionArgs, ContractFunctionName, ContractFunctionReturnType, Hash, PublicClient, ReadContractParameters, WalletClient,
} from 'viem';
import { pulseLedgerAbi } from '../contracts/PulseLedger';
import type { Address } from './config';

export type LedgerAbi = typeof pulseLedgerAbi;
type Mutating = 'nonpayable' | 'payable';
type Viewing = 'view' | 'pure';

export type WriteName = ContractFunctionName<LedgerAbi, Mutating>;
export type WriteArgs<N extends WriteName> = ContractFunctionArgs<LedgerAbi, Mutating, N>;
export type ReadName = ContractFunctionName<LedgerAbi, Viewing>;
export type ReadArgs<N extends ReadName> = ContractFunctionArgs<LedgerAbi, Viewing, N>;
export type ReadResult<N extends ReadName> = ContractFunctionReturnType<LedgerAbi, Viewing, N>;

export interface Writer {
  <N extends WriteName>(functionName: N, args: WriteArgs<N>, value?: bigint): Promise<Hash>;
}

export interface Reader {
  <N extends ReadName>(functionName: N, args: ReadArgs<N>): Promise<ReadResult<N>>;
}

export function writerFor(publicClient: PublicClient, walletClient: WalletClient, contract: Address): Writer {
  return async (functionName, args, value) => {
    // The signature above is the check; viem's own generics cannot follow a name chosen at run time.
    const { request } = await publicClient.simulateContract({
      account: walletClient.account!, address: contract, abi: pulseLedgerAbi, functionName, args, value,
    } as Parameters<PublicClient['simulateContract']>[0]);
    return walletClient.writeContract(request as Parameters<WalletClient['writeContract']>[0]);
  };
}

export function readerFor(publicClient: PublicClient, contract: Address): Reader {
  return <N extends ReadName>(functionName: N, args: ReadArgs<N>) =>
    publicClient.readContract({ address: contract, abi: pulseLedgerAbi, functionName, args } as ReadContractParameters<LedgerAbi, N, ReadArgs<N>>) as Promise<ReadResult<N>>;
}
