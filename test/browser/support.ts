/** Debian's chromium, launched by playwright-core for the browser tests (skipped when absent). */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** True when the browser is installed; otherwise warns that `file` is skipped (CI installs it). */
export function hasChromium(file: string): boolean {
  const found = existsSync(CHROMIUM);
  if (!found) console.warn(`${file}: SKIPPED — ${CHROMIUM} not found (apt-get install chromium)`);
  return found;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
