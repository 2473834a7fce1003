// When each block was made (seconds), for histories in dates rather than block numbers. Asked once
// per block and kept; viem batches the calls into one JSON-RPC request.
import { useEffect, useState } from 'react';
import { useDapp } from '../context';

const known = new Map<bigint, number>();

export function useBlockTimes(blocks: bigint[]): Map<bigint, number> {
  const { publicClient } = useDapp();
  const [, bump] = useState(0);
  const missing = [...new Set(blocks)].filter((b) => !known.has(b));
  const key = missing.join(',');
  useEffect(() => {
    if (missing.length === 0) return;
    let current = true;
    Promise.all(missing.map((blockNumber) => publicClient.getBlock({ blockNumber }).then((b) => known.set(blockNumber, Number(b.timestamp)))))
      .then(() => current && bump((n) => n + 1), () => undefined);
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, publicClient]);
  return known;
}
