// What each data class contains, and the patient's price for it (0 = not for sale).
import { useState } from 'react';
import { parseEther } from 'viem';
import { useDapp } from '../../context';
import { TxStatus } from '../../components/TxStatus';
import { usePrices } from '../../hooks/usePrices';
import { useTx } from '../../hooks/useTx';
import { DATA_CLASS_CONTENTS, DATA_CLASSES, formatEth } from '../../lib/domain';

export function DataClassesPage() {
  const { publicClient, wallet, write } = useDapp();
  const tx = useTx(publicClient);
  const prices = usePrices(wallet.account);
  const [drafts, setDrafts] = useState<string[]>(DATA_CLASSES.map(() => ''));
  const save = async (dataClass: number) => {
    if (!write) return;
    let wei: bigint;
    try {
      wei = parseEther(drafts[dataClass] || '0');
    } catch {
      tx.fail('Enter the price in ETH, for example 0.001.');
      return;
    }
    if (wei % 1_000_000_000n !== 0n) {
      tx.fail('Prices are whole gwei: use at most 9 decimals of ETH, for example 0.000000001.');
      return;
    }
    await tx.run(() => write('setPrice', [dataClass, wei]), () => `Price of ${DATA_CLASSES[dataClass]} set to ${formatEth(wei)}.`);
  };
  return (
    <section className="card wide" aria-labelledby="prices-title">
      <h2 id="prices-title">Your data and its price</h2>
      <p>A buyer needs your consent for a class <em>and</em> pays your price for it. Price 0 means not for sale. A price change never affects a purchase already made.</p>
      {DATA_CLASSES.map((name, c) => (
        <form key={name} className="row data-class" onSubmit={(e) => { e.preventDefault(); void save(c); }} data-testid={`data-class-${c}`}>
          <h3>{name}</h3>
          <p>{DATA_CLASS_CONTENTS[c]}</p>
          <label htmlFor={`price-${c}`}>{name} <small>(now {prices.value ? (prices.value[c] === 0n ? 'not for sale' : formatEth(prices.value[c])) : '…'})</small></label>
          <input id={`price-${c}`} inputMode="decimal" placeholder="ETH" value={drafts[c]} onChange={(e) => setDrafts(drafts.map((d, i) => (i === c ? e.target.value : d)))} />
          <button className="btn" type="submit" disabled={!write}>Set price</button>
        </form>
      ))}
      <TxStatus state={tx.state} testId="price-status" />
    </section>
  );
}
