// Time to interactive of the production build on localhost in headless Chromium: from navigation
// start to the first moment the "Connect" button is on screen and enabled (config loaded, React
// rendered, wallet discovered). Each sample uses a fresh browser context (empty cache). Prints JSON.
import { launch } from './browser.mjs';
import { serveDist, startStack } from './stack.mjs';
import { attachWallet } from './wallet.mjs';
import { join } from 'node:path';
import { repoDir } from './stack.mjs';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 9);
let config = null;
const web = await serveDist(() => config);
const stack = await startStack(web.origin, join(repoDir, 'test-artifacts', 'dapp', 'bench-stack.log'));
const info = stack.info;
config = { chainId: info.chainId, rpcUrl: info.rpcUrl, gatewayUrl: info.gatewayUrl, contract: info.contract, deploymentBlock: info.deploymentBlock, pollIntervalMs: 1000 };
const browser = await launch();
const tti = [];
const dcl = [];
try {
  for (let i = 0; i < SAMPLES; i++) {
    const context = await browser.newContext();
    await attachWallet(context, { key: info.keys.patient, rpcUrl: info.rpcUrl, chainId: info.chainId });
    const page = await context.newPage();
    await page.goto(web.origin, { waitUntil: 'commit' });
    await page.getByRole('button', { name: 'Connect Test Wallet' }).waitFor({ state: 'visible' });
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return { now: performance.now(), dcl: nav.domContentLoadedEventEnd };
    });
    tti.push(timing.now);
    dcl.push(timing.dcl);
    await context.close();
  }
} finally {
  await browser.close();
  await stack.stop();
  web.server.close();
}
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
console.log(JSON.stringify({ samples: SAMPLES, tti_median_ms: quantile(tti, 0.5), tti_p90_ms: quantile(tti, 0.9), dcl_median_ms: quantile(dcl, 0.5) }));
