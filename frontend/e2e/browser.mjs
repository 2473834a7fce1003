// Debian's Chromium driven by playwright-core (never a downloaded browser); flags from TOOLCHAIN.md.
// Playwright gives each launch a fresh, empty temporary profile (its own --user-data-dir).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.PULSELEDGER_CHROMIUM ?? '/usr/bin/chromium';
export const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** Waits (up to a deadline that is a setting, not an assertion on speed) until the text matches. */
export async function expectText(locator, pattern, timeoutMs = Number(process.env.E2E_WAIT_MS ?? 30000)) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = (await locator.textContent({ timeout: 1000 }).catch(() => '')) ?? '';
    if (pattern.test(last)) return last;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`expected ${pattern}, last text was: ${JSON.stringify(last.slice(0, 400))}`);
}

export async function expectCount(locator, count, timeoutMs = Number(process.env.E2E_WAIT_MS ?? 30000)) {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    last = await locator.count();
    if (last === count) return;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`expected ${count} elements, saw ${last}`);
}
