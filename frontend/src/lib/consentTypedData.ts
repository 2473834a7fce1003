// The EIP-712 typed data a patient signs for a gasless consent decision (decideBySig). Its types,
// domain name and version are generated from the one Python definition (services/chain/eip712.py,
// by tools/gen_chain_typed_data.py): the dapp, the gateway and the contract cannot drift apart.
import type { Address } from 'viem';
import {
  CONSENT_DOMAIN_NAME, CONSENT_DOMAIN_VERSION, CONSENT_PRIMARY_TYPE, consentDecisionTypes,
} from '../contracts/consentTypedData';

export type ConsentDecisionFields = {
  chainId: number;
  verifyingContract: Address;
  requestId: bigint;
  decision: number;
  nonce: bigint;
  deadline: bigint;
};

export function consentDecisionTypedData({ chainId, verifyingContract, ...message }: ConsentDecisionFields) {
  return {
    domain: { name: CONSENT_DOMAIN_NAME, version: CONSENT_DOMAIN_VERSION, chainId, verifyingContract },
    types: consentDecisionTypes,
    primaryType: CONSENT_PRIMARY_TYPE,
    message,
  } as const;
}
