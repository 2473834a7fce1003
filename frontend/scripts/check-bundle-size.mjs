// The dapp's weight budget (issue 17): all JavaScript of the production build, chunks loaded on
// demand included, gzip level 9, at most 250 KiB — measured as benchmarks/bench_dapp.py measures
// `dapp_js_gzip_kb`. Run after `vite build`; exits 1 over budget, naming the biggest chunks.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_KIB = Number(process.env.DAPP_JS_BUDGET_KIB ?? 250);
const assets = resolve(fileURLToPath(import.meta.url), '..', '..', 'dist', 'assets');
const chunks = readdirSync(assets).filter((name) => name.endsWith('.js'))
  .map((name) => ({ name, kib: gzipSync(readFileSync(join(assets, name)), { level: 9 }).length / 1024 }))
  .sort((a, b) => b.kib - a.kib);
if (chunks.length === 0) {
  console.error(`check-bundle-size: no JavaScript in ${assets}; build first`);
  process.exit(1);
}
const total = chunks.reduce((sum, c) => sum + c.kib, 0);
const detail = chunks.map((c) => `${c.name} ${c.kib.toFixed(1)}`).join(', ');
if (total > BUDGET_KIB) {
  console.error(`check-bundle-size: ${total.toFixed(1)} KiB of JS gzipped, over the ${BUDGET_KIB} KiB budget (${detail})`);
  process.exit(1);
}
console.log(`check-bundle-size: ${total.toFixed(1)} KiB of JS gzipped (budget ${BUDGET_KIB} KiB): ${detail}`);
