// The whole story in a real browser against a real chain and gateway: request, approve, purchase,
// access, read, revoke, refused afterwards — and the failure paths (rejected signature, wrong
// price, revoked consent). E2E_TRANSPORT=sigv4-proxy sends the dapp's reads through the proxy.
import assert from 'node:assert/strict';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { privateKeyToAccount } from 'viem/accounts';
import { expectCount, expectText, launch } from './browser.mjs';
import { repoDir, serveDist, startStack } from './stack.mjs';
import { attachWallet } from './wallet.mjs';
import { startProxy } from './proxy.mjs';

const TRANSPORT = process.env.E2E_TRANSPORT ?? 'direct';
const ARTIFACTS = join(repoDir, 'test-artifacts', 'dapp', TRANSPORT);
mkdirSync(ARTIFACTS, { recursive: true });

let web, stack, proxy, browser, patient, buyer, patientWallet, buyerWallet, config;
const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
/** Follows an address as a person would (a link, a bookmark): the hash changes, no reload. */
const go = (page, hash) => page.evaluate((h) => { window.location.hash = h; }, hash);

async function openApp(key) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  // Wallets start on Ethereum mainnet's id so the wrong-network state is exercised on connect.
  const wallet = await attachWallet(context, { key, rpcUrl: config.walletRpcUrl, chainId: config.chainId, startChainId: 1 });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  await page.goto(web.origin);
  return { page, wallet };
}

before(async () => {
  let current = null;
  web = await serveDist(() => current);
  stack = await startStack(web.origin, join(ARTIFACTS, 'stack.log'));
  const info = stack.info;
  let rpcUrl = info.rpcUrl;
  if (TRANSPORT === 'sigv4-proxy') {
    proxy = await startProxy(info.rpcUrl, web.origin, info.deployments, createWriteStream(join(ARTIFACTS, 'proxy.log')));
    rpcUrl = proxy.url;
  }
  config = { ...info, walletRpcUrl: rpcUrl };
  current = { chainId: info.chainId, chainName: 'PulseLedger e2e (anvil)', rpcUrl, transport: TRANSPORT, gatewayUrl: info.gatewayUrl,
    contract: info.contract, deploymentBlock: info.deploymentBlock, pollIntervalMs: 250 };
  browser = await launch();
  ({ page: patient, wallet: patientWallet } = await openApp(info.keys.patient));
  ({ page: buyer, wallet: buyerWallet } = await openApp(info.keys.buyer));
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await stack?.stop();
  web?.server.close();
});

test('connect: wallet found over EIP-6963, wrong network detected, switched', async () => {
  for (const page of [patient, buyer]) {
    await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
    await expectText(page.getByTestId('wallet-status'), /Wrong network \(chain 1\)/);
    if (page === patient) await shot(page, '00-wrong-network');
    await page.getByRole('button', { name: 'Switch network' }).click();
    await expectText(page.getByTestId('wallet-status'), new RegExp(`chain ${config.chainId}`));
  }
  assert.ok(patientWallet.state.requests.includes('wallet_switchEthereumChain'));
});

test('patient sets a price; the requester finds the patient and sees it', async () => {
  await go(patient, '#/data-classes');
  await expectText(patient.getByTestId('data-class-0'), /beats per minute/); // what a class contains, in words
  // Keyboard only: type the price and submit the form with Enter.
  await patient.getByLabel(/^Exports/).fill('0.001');
  await patient.getByLabel(/^Exports/).press('Enter');
  await expectText(patient.getByTestId('price-status'), /Confirmed: Price of Exports set to 0.001 ETH/);
  await buyer.getByRole('link', { name: 'Researcher' }).click();
  assert.equal(await buyer.evaluate(() => window.location.hash), '#/research');
  const patientAddress = privateKeyToAccount(config.keys.patient).address;
  await expectText(buyer.getByTestId('datasets'), /0 *0 *1/); // the patient's one export record
  await buyer.getByRole('button', { name: `Choose patient ${patientAddress}` }).click();
  assert.equal(await buyer.getByLabel('Patient address').inputValue(), patientAddress);
  await expectText(buyer.getByTestId('patient-prices'), /Exports: 0.001 ETH/);
});

test('requester asks for access; the request appears for the patient without a reload', async () => {
  await buyer.getByLabel('Purpose of use').selectOption('HRESCH'); // a code, never free text, goes on-chain
  await buyer.getByRole('button', { name: 'Request access' }).click();
  await expectText(buyer.getByTestId('request-status'), /Request sent/);
  await expectText(buyer.getByTestId('my-request-1'), /Pending/);
  await go(patient, '#/requests');
  await expectText(patient.getByTestId('request-1'), /Healthcare research \(HRESCH\)[\s\S]*Exports[\s\S]*Requester/);
  await shot(patient, '01-patient-incoming-request');
});

test('a rejected signature is reported and changes nothing', async () => {
  await patient.getByLabel(/Decide by signature/).check();
  patientWallet.state.rejectNext = true;
  await patient.getByRole('button', { name: 'Approve #1' }).click();
  await expectText(patient.getByTestId('decision-status'), /You rejected the request in your wallet/);
  assert.equal(await patient.getByTestId('request-1').getAttribute('data-status'), 'Pending');
});

test('patient approves by gasless signature relayed by the gateway; the requester sees it live', async () => {
  await patient.getByRole('button', { name: 'Approve #1' }).click();
  await expectText(patient.getByTestId('decision-status'), /approve relayed by the gateway/);
  await expectText(buyer.getByTestId('my-request-1'), /Approved/);
});

test('paying the wrong price is refused with the contract error in words', async () => {
  const amount = buyer.getByLabel(/Exports: price 0.001 ETH/);
  await amount.fill('0.002');
  await buyer.getByRole('button', { name: 'Buy Exports' }).click();
  await expectText(buyer.getByTestId('buy-status-1-2'), /the patient asks 0.001 ETH, you offered 0.002 ETH/);
  await shot(buyer, '02-requester-wrong-price');
});

test('requester buys at the shown price, logs access and reads the record through the gateway', async () => {
  await buyer.getByLabel(/Exports: price 0.001 ETH/).fill('0.001');
  await buyer.getByRole('button', { name: 'Buy Exports' }).click();
  await expectText(buyer.getByTestId('my-request-1'), /paid, awaiting first read/);
  await buyer.getByRole('button', { name: 'Log access and download' }).click();
  await expectText(buyer.getByTestId('record-content'), new RegExp(config.exportText.replace(/[{}"]/g, '.')));
  // The patient's export as the gateway sealed it: FHIR heart-rate Observations of their windows,
  // the subject labelled with this purchase's pseudonym (the sealed bundle names none).
  const shown = await buyer.getByTestId('record-content').textContent();
  assert.match(shown, /"code":"8867-4"/);
  assert.match(shown, /"subject":"pl-[0-9a-f]{32}"/);
  assert.doesNotMatch(shown, /pl-0{32}/);
  const download = buyer.getByRole('link', { name: 'Download export' });
  assert.match(await download.getAttribute('href'), /^blob:/);
  await shot(buyer, '03-requester-record-read');
});

test('patient sees the access in the history and the escrow released, live', async () => {
  await go(patient, '#/access');
  await expectCount(patient.getByTestId('access-history').locator('tbody tr'), 1);
  await go(patient, '#/earnings');
  await expectText(patient.getByTestId('credit'), /0.001 ETH/);
  await expectText(patient.getByTestId('earnings'), /#258[\s\S]*Exports[\s\S]*0.001 ETH[\s\S]*credited to you/);
  await expectText(patient.getByTestId('earnings-totals'), /Credited to you\s*0.001 ETH/);
});

test('patient reads heart-rate windows, predictions and alerts; a new window arrives live', async () => {
  await go(patient, '#/heart');
  await patient.getByRole('button', { name: 'Sign in to read my heart data' }).click();
  await expectCount(patient.getByTestId('windows').locator('tbody tr'), 8);
  // Windows in the peers' record format (services/records/window_payload.py): 10 readings each.
  await expectText(patient.locator('figure.chart figcaption'), /^80 readings in 8 windows/);
  await expectText(patient.getByTestId('alerts'), /5 of the last 6 readable windows looked irregular/);
  await expectText(patient.getByTestId('live-state'), /Live/);
  // The stack's gateway ends each stream after 2 s: wait until the dapp has reconnected at least
  // once, so the new window has to come through a resumed stream.
  const opened = () => (readFileSync(join(ARTIFACTS, 'stack.log'), 'utf8').match(/"event": ?"live_opened"/g) ?? []).length;
  const deadline = Date.now() + 30000;
  while (opened() < 2 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 200));
  assert.ok(opened() >= 2, 'the dapp did not reopen the live stream after the gateway closed it');
  await stack.command('window');
  await expectCount(patient.getByTestId('windows').locator('tbody tr'), 9);
  await expectText(patient.locator('figure.chart figcaption'), /^90 readings in 9 windows/);
  await shot(patient, '04-patient-dashboard');
});

test('patient reads the consent history in plain words and downloads it as FHIR bundles', async () => {
  await go(patient, '#/consents');
  const history = patient.getByTestId('consent-history');
  await expectText(history, /asked for your exports for “Healthcare research \(HRESCH\)”/);
  await expectText(history, /You approved request #1/);
  await expectText(history, /paid 0.001 ETH for your exports \(purchase #258\)/);
  await expectText(history, /The gateway delivered purchase #258: 0.001 ETH credited to you/);
  for (const [kind, resource] of [['consents', 'Consent'], ['audit-events', 'AuditEvent']]) {
    await patient.getByRole('button', { name: `Prepare ${kind === 'consents' ? 'consents' : 'access log'} export` }).click();
    const href = await patient.getByTestId(`fhir-${kind}`).getAttribute('href');
    const bundle = await patient.evaluate((url) => fetch(url).then((r) => r.json()), href);
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.entry.length, 1);
    assert.equal(bundle.entry[0].resource.resourceType, resource);
  }
});

test('patient revokes; the gateway and the contract refuse the requester afterwards', async () => {
  await go(patient, '#/requests');
  await patient.getByLabel(/Decide by signature/).uncheck();
  await patient.getByRole('button', { name: 'Revoke #1' }).focus();
  await patient.keyboard.press('Enter'); // buttons work from the keyboard
  await expectText(patient.getByTestId('decision-status'), /Request #1 revoked/);
  await expectText(buyer.getByTestId('my-request-1'), /Revoked/);
  await buyer.getByRole('button', { name: 'Read again' }).click();
  await expectText(buyer.getByTestId(/^read-status-/), /Gateway refused \(403 no_consent\)/);
  await buyer.getByRole('button', { name: 'Log access and download' }).click();
  await expectText(buyer.getByTestId(/^read-status-/), /Access refused: consent request #1 is Revoked/);
  await shot(buyer, '05-requester-refused-after-revoke');
});

test('paid but revoked before delivery: access refused, the requester reclaims the payment', async () => {
  await buyer.getByLabel('Purpose of use').selectOption('CLINTRL');
  await buyer.getByRole('button', { name: 'Request access' }).click();
  await expectText(patient.getByTestId('request-2'), /Clinical trial \(CLINTRL\)/);
  await patient.getByRole('button', { name: 'Approve #2' }).click(); // by transaction this time
  await expectText(patient.getByTestId('decision-status'), /Request #2 approved/);
  await expectText(buyer.getByTestId('my-request-2'), /Approved/);
  await buyer.getByTestId('my-request-2').getByRole('button', { name: 'Buy Exports' }).click();
  await expectText(buyer.getByTestId('my-request-2'), /paid, awaiting first read/);
  await patient.getByRole('button', { name: 'Revoke #2' }).click();
  await expectText(buyer.getByTestId('my-request-2'), /Revoked/);
  await buyer.getByTestId('my-request-2').getByRole('button', { name: 'Log access and download' }).click();
  await expectText(buyer.getByTestId('my-request-2').getByTestId(/^read-status-/), /Access refused: consent request #2 is Revoked/);
  await buyer.getByRole('button', { name: 'Reclaim payment for #2' }).click();
  await expectText(buyer.getByTestId('reclaim-status-2'), /Payment reclaimed/);
  await expectText(buyer.getByTestId('my-request-2'), /Exports: refunded/);
  await expectText(buyer.getByTestId('credit'), /^0.001 ETH$/);
  await shot(buyer, '06-requester-reclaimed');
});

test('patient is warned about a class not for sale, denies by gasless signature; the requester cannot buy', async () => {
  await buyer.getByLabel('Purpose of use').selectOption('PUBHLTH');
  await buyer.getByLabel('Heart-rate windows').check(); // not for sale: the patient set no price
  await buyer.getByRole('button', { name: 'Request access' }).click();
  await expectText(patient.getByTestId('request-3'), /Public health \(PUBHLTH\)/);
  await expectText(patient.getByTestId('not-for-sale-3'), /You have not put Heart-rate windows up for sale \(price 0\)\. Approving still consents/);
  assert.equal(await patient.getByTestId('not-for-sale-1').count(), 0); // exports are for sale
  await shot(patient, '06b-patient-not-for-sale-warning');
  await patient.getByLabel(/Decide by signature/).check();
  await patient.getByRole('button', { name: 'Deny #3' }).click();
  await expectText(patient.getByTestId('decision-status'), /deny relayed by the gateway/);
  await expectText(buyer.getByTestId('my-request-3'), /Denied/);
  assert.equal(await buyer.getByTestId('my-request-3').getByRole('button', { name: 'Buy Exports' }).isDisabled(), true);
  await expectText(buyer.getByTestId('buy-blocked-3-2'), /the request was denied/); // Buy says why not
});

test('patient withdraws the escrow credit', async () => {
  await go(patient, '#/earnings');
  await patient.getByRole('button', { name: 'Withdraw' }).click();
  await expectText(patient.getByTestId('withdraw-status'), /Withdrawn/);
  await expectText(patient.getByTestId('credit'), /^0 ETH$/);
  await shot(patient, '07-patient-after-withdraw');
  await patient.setViewportSize({ width: 390, height: 844 }); // a phone: cards stack in one column
  const widths = await patient.locator('.card').evaluateAll((cards) => cards.map((c) => Math.round(c.getBoundingClientRect().width)));
  assert.ok(widths.every((w) => w <= 390), `cards wider than the screen: ${widths}`);
  await shot(patient, '08-patient-phone');
});

test('undelivered past the delivery window: the requester reclaims without any revoke', async () => {
  await go(buyer, '#/research');
  await buyer.getByLabel('Purpose of use').selectOption('TREAT');
  await buyer.getByRole('button', { name: 'Request access' }).click();
  await go(patient, '#/requests');
  await expectText(patient.getByTestId('request-4'), /Treatment \(TREAT\)/);
  await patient.getByLabel(/Decide by signature/).check();
  await patient.getByRole('button', { name: 'Approve #4' }).click();
  await expectText(patient.getByTestId('decision-status'), /approve relayed by the gateway/);
  await expectText(buyer.getByTestId('my-request-4'), /Approved/);
  await buyer.getByTestId('my-request-4').getByRole('button', { name: 'Buy Exports' }).click();
  await expectText(buyer.getByTestId('my-request-4'), /paid, awaiting first read/);
  assert.equal(await buyer.getByRole('button', { name: 'Reclaim payment for #4' }).count(), 0); // window open
  // The delivery window (an hour on this chain) passes on the chain's clock, straight at anvil.
  for (const [method, params] of [['evm_increaseTime', [3601]], ['evm_mine', []]]) {
    await fetch(config.rpcUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  }
  await buyer.getByRole('button', { name: 'Reclaim payment for #4' }).click();
  await expectText(buyer.getByTestId('reclaim-status-4'), /Payment reclaimed/);
  await expectText(buyer.getByTestId('my-request-4'), /Exports: refunded/);
  await shot(buyer, '06c-requester-reclaimed-after-window');
});

if (TRANSPORT === 'sigv4-proxy') {
  test('the dapp and the wallet really went through the proxy', async () => {
    const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
    writeFileSync(join(ARTIFACTS, 'proxy-metrics.txt'), metrics);
    const calls = (method) => [...metrics.matchAll(new RegExp(`pulseledger_proxy_calls_total\\{[^}]*method="${method}"[^}]*\\} ([0-9.e+]+)`, 'g'))]
      .reduce((sum, match) => sum + Number(match[1]), 0);
    assert.ok(calls('eth_getLogs') > 0, 'no eth_getLogs through the proxy');
    assert.ok(calls('eth_call') > 0, 'no eth_call through the proxy');
    // Wallet transactions: setPrice, requestConsent ×4, approve #2, purchase ×3, logAccess, revoke ×2,
    // reclaim ×2, withdraw (approve #1 and #4 and deny #3 were relayed by the gateway, which talks to
    // anvil itself).
    assert.equal(calls('eth_sendRawTransaction'), 15, 'the wallet transactions did not all go through the proxy');
    await shot(buyer, '09-requester-through-proxy');
  });
}
