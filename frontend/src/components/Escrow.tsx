import { useDapp } from '../context';
import { useRead } from '../hooks/useRead';
import { useTx } from '../hooks/useTx';
import { formatEth } from '../lib/domain';
import { TxStatus } from './TxStatus';

/** The connected account's escrow credit (earnings or refunds) and the pull-payment withdraw. */
export function Escrow({ title = 'Escrow' }: { title?: string }) {
  const { publicClient, wallet, write, read } = useDapp();
  const tx = useTx(publicClient);
  const me = wallet.account;
  const credit = useRead(me && read ? () => read('creditOf', [me]) : null, [me, read]);
  return (
    <section className="card" aria-labelledby="escrow-title">
      <h2 id="escrow-title">{title}</h2>
      <p>Credit available: <strong data-testid="credit">{credit.value === null ? '…' : formatEth(credit.value)}</strong></p>
      <button className="btn" disabled={!write || credit.value === 0n} onClick={() => write && tx.run(() => write('withdraw', []), () => 'Withdrawn to your account.')}>Withdraw</button>
      <TxStatus state={tx.state} testId="withdraw-status" />
    </section>
  );
}
