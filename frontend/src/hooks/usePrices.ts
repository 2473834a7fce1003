// A patient's price for every data class, re-read as the chain moves (0 = not for sale).
import { useDapp } from '../context';
import { DATA_CLASSES } from '../lib/domain';
import type { Address } from '../lib/config';
import { useRead } from './useRead';

export function usePrices(patient: Address | null) {
  const { read } = useDapp();
  return useRead(read && patient ? () => Promise.all(DATA_CLASSES.map((_, c) => read('priceOf', [patient, c]))) : null, [patient, read]);
}
