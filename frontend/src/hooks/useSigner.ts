// The connected wallet as the gateway's signed requests take it (EIP-712 messages, no gas), or
// null while no wallet is connected.
import { useDapp } from '../context';

export function useSigner() {
  const { wallet, config } = useDapp();
  return wallet.client && wallet.account ? { client: wallet.client, account: wallet.account, chainId: config.chainId } : null;
}
