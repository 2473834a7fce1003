// Each person of the story in a real browser, against a real chain and gateway: a new patient
// onboarding from nothing, a doctor following an alert link, every link in every email opening
// the page it names, and a patient erasing their data.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { privateKeyToAccount } from 'viem/accounts';
import { expectCount, expectText, launch } from './browser.mjs';
import { repoDir, serveDist, startStack } from './stack.mjs';
import { attachWallet } from './wallet.mjs';

const ARTIFACTS = join(repoDir, 'test-artifacts', 'dapp', 'roles');
mkdirSync(ARTIFACTS, { recursive: true });

let web, stack, browser, info, emails;
const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
const addressOf = (who) => privateKeyToAccount(info.keys[who]).address;

/** The newest link the gateway mailed to `address`, opened in a tab of `context` (its owner's
 * mail client; no wallet is needed) and confirmed; a used link is refused after. */
async function confirmMailbox(context, address, expected) {
  const { links } = await stack.command(`mailbox ${address}`);
  assert.ok(links.length > 0, `no confirmation link was mailed to ${address}`);
  const mail = await context.newPage();
  await mail.goto(links.at(-1));
  await mail.getByRole('button', { name: 'Confirm this address' }).click();
  await expectText(mail.getByTestId('confirm-status'), expected);
  await shot(mail, '10b-address-confirmed');
  await mail.reload();
  await mail.getByRole('button', { name: 'Confirm this address' }).click();
  await expectText(mail.getByTestId('confirm-status'), /404 .*unknown, used or expired/);
  await mail.close();
}

/** A fresh browser profile with `who`'s wallet, opened at `url`, connected on the right chain. */
async function openAs(who, url, viewport = { width: 1200, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const wallet = await attachWallet(context, { key: info.keys[who], rpcUrl: info.rpcUrl, chainId: info.chainId });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page error (${who}): ${error.message}`));
  await page.goto(url);
  await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
  await expectText(page.getByTestId('wallet-status'), new RegExp(`chain ${info.chainId}`));
  return { page, wallet, context };
}

before(async () => {
  let config = null;
  web = await serveDist(() => config);
  stack = await startStack(web.origin, join(ARTIFACTS, 'stack.log'), ['--market']);
  info = stack.info;
  config = { chainId: info.chainId, chainName: 'PulseLedger e2e (anvil)', rpcUrl: info.rpcUrl, transport: 'direct',
    gatewayUrl: info.gatewayUrl, contract: info.contract, deploymentBlock: info.deploymentBlock, pollIntervalMs: 250 };
  browser = await launch();
  emails = (await stack.command(`links ${web.origin}/`)).links;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  web?.server.close();
});

test('a new patient onboards from nothing: pairs the wearable from its QR link, adds contacts, links a doctor, changes doctor', async () => {
  // The wearable's QR code carries the dapp's onboarding address with its peer id and its pairing code.
  const link = `${web.origin}/#/onboarding?device=${info.spareDevice}&code=${info.spareCode}`;
  const { page, wallet, context } = await openAs('newcomer', link);
  await expectText(page.getByTestId('onboarding-steps'), /○ Pair your wearable[\s\S]*○ Where to send alerts[\s\S]*○ Your doctor/);
  await page.getByRole('button', { name: 'Sign in to start' }).click();
  assert.equal(await page.getByLabel(/peer id/).inputValue(), info.spareDevice);
  assert.equal(await page.getByLabel(/pairing code/).inputValue(), info.spareCode);
  // The same id and code as text and as a QR code of the pairing link, to compare with the device.
  const qr = page.getByTestId('qr');
  assert.equal(await qr.getAttribute('data-text'), link);
  await qr.locator('svg').waitFor();
  // A code the device did not sign (its expiry moved on) pairs nothing: the gateway says why.
  const [expires, signature] = info.spareCode.split('.');
  await page.getByLabel(/pairing code/).fill(`${BigInt(expires) + 1n}.${signature}`);
  await page.getByRole('button', { name: 'Pair this wearable' }).click();
  await expectText(page.getByTestId('device-status'), /not signed by this device/);
  await page.getByLabel(/pairing code/).fill(info.spareCode);
  await page.getByRole('button', { name: 'Pair this wearable' }).click();
  await expectText(page.getByTestId('device-status'), /paired: its readings are now stored for you/);
  await expectText(page.getByTestId('paired-devices'), new RegExp(info.spareDevice));
  await shot(page, '10-new-patient-paired');

  await page.getByLabel(/Your email addresses/).fill('not-an-email');
  await page.getByRole('button', { name: 'Save contacts' }).click();
  await expectText(page.getByTestId('contacts-status'), /“not-an-email” is not an email address/);
  await page.getByLabel(/Your email addresses/).fill('me@home.invalid, backup@home.invalid');
  await page.getByRole('button', { name: 'Save contacts' }).click();
  // Nothing is mailed alerts before its owner confirms: each address got a link first.
  await expectText(page.getByTestId('contacts-status'), /go to 0 addresses; 2 addresses must first confirm the link we emailed/);
  await expectText(page.getByTestId('contacts-waiting'), /backup@home\.invalid, me@home\.invalid/);
  await expectText(page.getByTestId('onboarding-steps'), /○ Where to send alerts/);
  await confirmMailbox(context, 'me@home.invalid', /now gets the PulseLedger emails of 0x/);
  await confirmMailbox(context, 'backup@home.invalid', /now gets the PulseLedger emails/);
  // The onboarding page reads again while an address waits: the step turns done by itself.
  await expectText(page.getByTestId('onboarding-steps'), /✓ Where to send alerts/);
  // Optional: the name the doctor's emails use and the zone of every time in them.
  await page.getByLabel(/The name your doctor’s alert emails use/).fill('Ada Newcomer');
  await page.getByLabel(/Your time zone/).fill('Mars/Olympus');
  await page.getByRole('button', { name: 'Save name and zone' }).click();
  await expectText(page.getByTestId('name-status'), /unknown time zone/);
  await page.getByLabel(/Your time zone/).fill('Europe/Berlin');
  await page.getByRole('button', { name: 'Save name and zone' }).click();
  await expectText(page.getByTestId('name-status'), /times in your emails are in Europe\/Berlin; your doctor's emails call you “Ada Newcomer”/);

  await page.getByLabel('Doctor’s wallet address').fill(info.doctor);
  await page.getByLabel('Doctor’s email address').fill(info.doctorEmail);
  await page.getByRole('button', { name: 'Link doctor' }).click();
  await expectText(page.getByTestId('doctor-status'), /Linked: .* sees your heart data now, and gets your alerts once they confirm/);
  await expectText(page.getByTestId('onboarding-steps'), /○ Your doctor/);
  await confirmMailbox(context, info.doctorEmail, /now gets the alerts of your patient 0x/);
  await expectText(page.getByTestId('onboarding-steps'), /✓ Pair your wearable[\s\S]*✓ Where to send alerts[\s\S]*✓ Your doctor/);
  await expectText(page.getByTestId('onboarding-done'), /All set/);
  // Every step was a signature: no transaction, no gas (the newcomer holds no ether).
  assert.equal(wallet.state.requests.filter((m) => m === 'eth_sendTransaction').length, 0);
  assert.equal(wallet.state.requests.filter((m) => m === 'eth_signTypedData_v4').length, 6); // one refused pairing
  await shot(page, '11-new-patient-onboarded');

  // Changing the doctor is the same step, one more signature: the page says the former one loses access.
  const linkDoctor = async (who, email) => {
    await page.getByLabel('Doctor’s wallet address').fill(addressOf(who));
    await page.getByLabel('Doctor’s email address').fill(email);
    await page.getByRole('button', { name: 'Change doctor' }).click();
    await expectText(page.getByTestId('linked-doctor'), new RegExp(addressOf(who), 'i'));
  };
  await linkDoctor('other', 'other@clinic.invalid');
  await expectText(page.getByTestId('doctor-status'), /Linked: .* your former doctor no longer does/);
  await linkDoctor('doctor', info.doctorEmail); // back: the doctor's list below counts this patient
  assert.equal(wallet.state.requests.filter((m) => m === 'eth_signTypedData_v4').length, 8);
  // A doctor linked anew is mailed anew: nothing goes to their address until they confirm again.
  await expectText(page.getByTestId('linked-doctor'), /waiting for confirmation/);
  await confirmMailbox(context, info.doctorEmail, /now gets the alerts of your patient 0x/);
  await expectText(page.getByTestId('onboarding-done'), /All set/);
  // Whoever gets the alerts can stop them from the link at the end of each: the backup address.
  const { link: stopLink } = await stack.command(`stop-link ${addressOf('newcomer')} backup@home.invalid`);
  const mail = await context.newPage();
  await mail.goto(stopLink);
  await mail.getByRole('button', { name: 'Stop these emails' }).click();
  await expectText(mail.getByTestId('stop-status'), /Stopped: backup@home\.invalid gets no more PulseLedger emails for 0x/);
  await shot(mail, '11b-alerts-stopped');
  await mail.close();

  // The wearable's first window now arrives on the new patient's heart page, live.
  await page.getByRole('link', { name: 'your heart page' }).click();
  await expectText(page.getByTestId('live-state'), /Live/);
  await stack.command('spare-window');
  await expectCount(page.getByTestId('windows').locator('tbody tr'), 1);
  // Signing out ends the session: the heart page asks for a sign-in again.
  await page.getByTestId('sign-out').click();
  await page.getByRole('button', { name: /Sign in to read my heart data/ }).waitFor();

  // The wearable is replaced: removing it is one more signature, and pairing is step one again.
  await page.goto(`${web.origin}/#/onboarding`);
  await page.getByRole('button', { name: 'Sign in to start' }).click();
  await page.getByRole('button', { name: `Remove wearable ${info.spareDevice}` }).click();
  await expectText(page.getByTestId('device-status'), /removed: its readings are no longer stored for you/);
  await expectText(page.getByTestId('onboarding-steps'), /○ Pair your wearable[\s\S]*✓ Where to send alerts/);
  assert.equal(wallet.state.requests.filter((m) => m === 'eth_signTypedData_v4').length, 9);
  await context.close();
});

test('a researcher names where their notices go: the address waits, confirms from its mailbox, then gets them', async () => {
  const { page, wallet, context } = await openAs('buyer', `${web.origin}/#/research`);
  const card = page.getByRole('region', { name: 'Email notices' });
  await card.getByRole('button', { name: 'Sign in for email notices' }).click();
  await card.getByLabel(/Your email addresses/).fill('lab@research.invalid');
  await card.getByRole('button', { name: 'Save contacts' }).click();
  await expectText(card.getByTestId('contacts-status'), /Notices go to 0 addresses; 1 address must first confirm the link we emailed/);
  await expectText(card.getByTestId('contacts-waiting'), /lab@research\.invalid/);
  await confirmMailbox(context, 'lab@research.invalid', /now gets the PulseLedger emails of 0x/);
  // The card reads again while an address waits: it shows where notices go now.
  await expectText(card.getByTestId('contacts-confirmed'), /Notices go to: lab@research\.invalid/);
  assert.equal(await card.getByTestId('contacts-waiting').count(), 0);
  assert.equal(wallet.state.requests.filter((m) => m === 'eth_sendTransaction').length, 0);
  await shot(page, '11c-researcher-notice-emails');
  await context.close();
});

test('a doctor follows an alert link to the patient’s windows around the alert; a stranger is refused', async () => {
  const alert = emails.find((e) => e.kind === 'alert');
  assert.ok(alert, 'the seeded windows raise one alert');
  const [link] = alert.links;
  assert.equal(link, `${web.origin}/#/patients/${addressOf('patient')}?at=${alert.at}`);

  const { page, context } = await openAs('doctor', link);
  assert.equal(await page.getByRole('link', { name: 'Doctor' }).getAttribute('aria-current'), 'true');
  await page.getByRole('button', { name: 'Sign in as doctor' }).click();
  await expectText(page.locator('h2#patient-title'), new RegExp(`Patient ${addressOf('patient')}`));
  await expectText(page.locator('figure.chart figcaption'), /^80 readings in 8 windows, .*; 6 windows screened irregular; 1 alert; an irregular-rhythm episode from .* UTC, ongoing\./);
  await expectCount(page.getByTestId('episode-bar'), 1); // on the chart's time line with the alert
  // The episode the alert began, still open, and the week's irregular-rhythm burden.
  await expectText(page.getByTestId('episodes'), /— ongoing/);
  await expectText(page.getByTestId('burden'), /%/);
  const when = new Date(alert.at).toISOString().replace('T', ' ').slice(0, 19);
  await expectText(page.getByTestId('alerts'), new RegExp(`${when} UTC — 5 of the last 6 readable windows looked irregular`));
  await expectCount(page.getByTestId('alert-mark'), 1);
  await expectText(page.getByTestId('windows-page'), /Windows 1–8 of 8/);
  await shot(page, '12-doctor-alert-link');
  // Live for the doctor too: the patient's next window appears without a reload.
  await expectText(page.getByTestId('live-state'), /Live/);
  await stack.command('window');
  await expectText(page.getByTestId('windows-page'), /Windows 1–9 of 9/);
  await page.setViewportSize({ width: 390, height: 844 }); // readable on a phone: drawn at its width
  const chart = await page.locator('figure.chart svg').evaluate((svg) => ({ width: svg.getBoundingClientRect().width, font: getComputedStyle(svg.querySelector('.axis text')).fontSize }));
  assert.ok(chart.width <= 390, `chart ${chart.width}px wide on a 390px screen`);
  assert.equal(chart.font, '11px'); // labels keep their size instead of shrinking with the drawing
  await shot(page, '13-doctor-phone');

  // The doctor's own list: the seeded patient and the newcomer who linked them in the first test.
  await page.setViewportSize({ width: 1200, height: 900 });
  // Long histories: the windows table pages by ten...
  await stack.command('window');
  await stack.command('window');
  const pager = page.getByTestId('windows-page');
  await expectText(pager, /Windows 1–10 of 11/);
  await page.getByRole('button', { name: 'Older' }).click();
  await expectText(pager, /Windows 11–11 of 11/);
  assert.equal(await page.getByRole('button', { name: 'Older' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Newer' }).click();
  await expectText(pager, /Windows 1–10 of 11/);
  // ...and the time range moves: the 15 minutes from the alert on hold it, the 15 before do not,
  // and the two together hold every window.
  const minutes = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16);
  const total = async () => Number((await pager.textContent()).match(/of (\d+)$/)?.[1] ?? 0);
  await page.getByRole('button', { name: '15 min' }).click();
  await expectText(page.getByTestId('range'), new RegExp(`^${minutes(alert.at)} UTC to ${minutes(alert.at + 15 * 60_000)} UTC`));
  await expectCount(page.getByTestId('alert-mark'), 1);
  const fromAlert = await total();
  await page.getByRole('button', { name: '◀ Earlier' }).click();
  await expectText(page.getByTestId('range'), new RegExp(`^${minutes(alert.at - 15 * 60_000)} UTC to ${minutes(alert.at)} UTC`));
  await expectText(page.getByTestId('alerts'), /^No alerts\.$/);
  await expectCount(page.getByTestId('alert-mark'), 0);
  const beforeAlert = await total();
  assert.ok(fromAlert > 0 && beforeAlert > 0, `${fromAlert} windows from the alert on, ${beforeAlert} before`);
  assert.equal(fromAlert + beforeAlert, 11);
  await page.getByRole('button', { name: 'From the start' }).click(); // up to now: the stack's later windows lie ahead of the clock
  await expectText(page.getByTestId('range'), /^From the first window/);
  await page.getByRole('link', { name: 'All my patients' }).click();
  await expectCount(page.getByTestId('doctor-patients').locator('li'), 2);
  await expectText(page.getByTestId('doctor-patients'), new RegExp(`${addressOf('patient')}[\\s\\S]*${addressOf('newcomer')}|${addressOf('newcomer')}[\\s\\S]*${addressOf('patient')}`));
  await context.close();

  const stranger = await openAs('other', link);
  await stranger.page.getByRole('button', { name: 'Sign in as doctor' }).click();
  await expectText(stranger.page.locator('.heart [role=alert]'), /Gateway refused \(403 forbidden\): only the patient and their linked doctor/);
  await stranger.context.close();
});

test('every link in every email opens the page it names, in the role of whoever receives it', async () => {
  // The emails come from tests/dapp/email_catalog.py (every kind, refund reason and notice of the
  // real templates) plus the alert emails of the episode the seeded windows raise.
  assert.deepEqual(new Set(emails.map((e) => e.kind)), new Set(['consent_requested', 'consent_approved', 'consent_denied',
    'purchase_paid', 'record_accessed', 'access_digest', 'refund_claimable', 'alert', 'alert_to_doctor']));
  const purchase = `#${info.purchaseId}`;
  // What each page shows its recipient; request #1 is approved already, so its patient may revoke.
  const expected = {
    'request patient': ['Patient', /Request #1/, /Revoke #1/],
    'request requester': ['Researcher', /Request #1/, new RegExp(`Purchase ${purchase}`)],
    'earnings patient': ['Patient', /Earnings/, new RegExp(purchase)],
    'access patient': ['Patient', /Who read your records/, /No one has accessed your records/],
    'purchase requester': ['Researcher', new RegExp(`Purchase ${purchase}`), /Exports: paid, awaiting first read/],
    'patient patient': ['Patient', /Your heart rate, screening and alerts/, /Sign in to read my heart data/],
    'patient doctor': ['Doctor', /Patient 0x/, /Sign in as doctor/],
  };
  const wallets = { patient: 'patient', requester: 'buyer', doctor: 'doctor' };
  const opened = new Set();
  for (const email of emails) {
    assert.equal(email.links.length, 1, `${email.kind}: ${email.links}`);
    const key = `${email.page} ${email.to}`;
    assert.ok(expected[key], `${email.kind} (${email.variant}): no expectation for the ${key} page`);
    if (opened.has(`${key} ${email.links[0]}`)) continue; // the same address for the same person opens the same page
    opened.add(`${key} ${email.links[0]}`);
    const [role, heading, body] = expected[key];
    const { page, context } = await openAs(wallets[email.to], email.links[0]);
    await expectText(page.locator('main h2').first(), heading);
    await expectText(page.locator('main'), body);
    assert.equal(await page.getByRole('link', { name: role, exact: true }).getAttribute('aria-current'), 'true', `${email.kind}: opened as ${role}`);
    await context.close();
  }
  assert.deepEqual([...opened].map((o) => o.split(' ').slice(0, 2).join(' ')).sort(), Object.keys(expected).sort());
});

test('a patient erases their data: keys destroyed, records retired on-chain, what remains explained', async () => {
  const { page, context } = await openAs('patient', `${web.origin}/#/my-data`);
  await page.getByRole('button', { name: 'Sign in to erase' }).click();
  const erase = page.getByRole('button', { name: 'Erase my records' });
  assert.equal(await erase.isDisabled(), true); // not before the patient says they understand
  await page.getByLabel(/I understand my records can never be read again/).check();
  await erase.click();
  await expectText(page.getByTestId('erase-status'), /Keys destroyed: 11 heart-rate windows and 1 export can never be decrypted again/);
  await page.getByRole('button', { name: 'Retire 1 on-chain record' }).click();
  await expectText(page.getByTestId('retire-status'), /Retired 1 of 1 on-chain records/);
  await expectText(page.getByTestId('retire-done'), /No active record of yours remains/);
  await expectText(page.getByTestId('on-chain-records'), /Exports[\s\S]*retired/);
  await expectText(page.getByTestId('on-chain-remains'), /1 registered record[\s\S]*1 consent request[\s\S]*1 purchase/);
  // Why none of it is health data: the hash of an encrypted file whose key is gone.
  await expectText(page.locator('#remains-title'), /What stays on-chain, and why it is not health data/);
  await expectText(page.getByTestId('on-chain-remains'), /hash of the encrypted file[\s\S]*no one can decrypt/);
  await shot(page, '14-patient-erased');

  await page.getByRole('link', { name: 'Heart' }).click();
  await expectText(page.getByTestId('windows'), /erased/);
  await expectText(page.locator('figure.chart figcaption'), /^No heart-rate readings between/);

  // The buyer of request #1 can no longer read the record: it is retired and its key destroyed.
  const buyer = await openAs('buyer', `${web.origin}/#/purchases/${info.purchaseId}`);
  await expectText(buyer.page.locator('main'), /The patient has no active exports record/);
  await buyer.context.close();
  await context.close();
});
