/**
 * Run-wide log capture for the leak check (STYLE.md: "Sensitive data never reaches a log line …
 * Test that, do not hope it").
 *
 * Tests that need a logger take it from {@link createCapturedLogger}: the real `createLogger`,
 * writing to `.tmp/test-logs/<pid>.ndjson` (one file per vitest worker process, appended
 * synchronously so nothing is lost when the worker exits). After `vitest run`, `npm test` runs
 * `scripts/check-log-leaks.ts`, which greps every captured line for the fixtures below in every
 * form they could leak in (plain, JSON- or XML-escaped, URL-encoded, inside a Basic header,
 * IBANs grouped or lower-case) and fails the run if one appears.
 *
 * Use these fixtures (or the embedded dev credentials, which are included) whenever a test
 * needs an IBAN or a password, so the check knows what to look for.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type DestinationStream } from 'pino';
import { DEV_LEGACY_CREDENTIALS } from '../../src/config.ts';
import { createLogger, type Logger, type LogLevel } from '../../src/infra/logger.ts';

/** Where every test process appends its captured log lines. */
export const TEST_LOG_DIR = fileURLToPath(new URL('../../.tmp/test-logs/', import.meta.url));

/** Logged once by the leak test: the post-run check refuses to pass when it is missing. */
export const CAPTURE_CANARY = 'log-capture-canary';

/** Valid IBANs (mod-97 checked in test/log-leak.test.ts). */
export const TEST_IBANS: readonly string[] = [
  'IT60X0542811101000000123456',
  'DE89370400440532013000',
  'GB82WEST12345698765432',
  'FR1420041010050500013M02606',
];

/** Usernames tests pair with the passwords (so a leaked Basic header can be recognised). */
export const TEST_USERNAMES: readonly string[] = [
  'gw-test',
  'GW-TEST',
  DEV_LEGACY_CREDENTIALS.tmo.username,
  DEV_LEGACY_CREDENTIALS.crm.username,
];

/** Passwords tests use for legacy systems, including the embedded simulators' dev passwords. */
export const TEST_PASSWORDS: readonly string[] = [
  'Tmo-Test-Pa55w0rd',
  'crm&Test<Pa55>"w0rd"',
  'redis-Test-Pa55',
  DEV_LEGACY_CREDENTIALS.tmo.password,
  DEV_LEGACY_CREDENTIALS.crm.password,
];

let destination: DestinationStream | undefined;

/** This process's capture file. */
export function captureFile(): string {
  return join(TEST_LOG_DIR, `${process.pid}.ndjson`);
}

function captureDestination(): DestinationStream {
  if (destination === undefined) {
    mkdirSync(TEST_LOG_DIR, { recursive: true });
    destination = pino.destination({ dest: captureFile(), sync: true, append: true });
  }
  return destination;
}

/** The real logger, writing to this run's capture. Level `trace` by default so everything is checked. */
export function createCapturedLogger(options: { level?: LogLevel; name?: string } = {}): Logger {
  return createLogger({
    level: options.level ?? 'trace',
    destination: captureDestination(),
    ...(options.name === undefined ? {} : { name: options.name }),
  });
}

// ---------------------------------------------------------------------------------------------
// Finding leaks

export interface Needle {
  /** safe to print: says which fixture and form, never the value */
  label: string;
  value: string;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Every form in which a fixture could show up in a log file. */
export function sensitiveNeedles(): Needle[] {
  const needles: Needle[] = [];
  const add = (label: string, value: string) => {
    if (value.length >= 6 && !needles.some((n) => n.value === value)) needles.push({ label, value });
  };
  TEST_IBANS.forEach((iban, i) => {
    const label = `TEST_IBANS[${i}]`;
    add(label, iban);
    add(`${label} lower-case`, iban.toLowerCase());
    add(`${label} grouped`, iban.replace(/(.{4})(?=.)/g, '$1 '));
    // the account part alone (country and check digits stripped) is still the account
    add(`${label} BBAN`, iban.slice(4));
  });
  TEST_PASSWORDS.forEach((pw, i) => {
    const label = `TEST_PASSWORDS[${i}]`;
    add(label, pw);
    add(`${label} JSON-escaped`, JSON.stringify(pw).slice(1, -1));
    add(`${label} XML-escaped`, xmlEscape(pw));
    add(`${label} URL-encoded`, encodeURIComponent(pw));
    add(`${label} base64`, Buffer.from(pw).toString('base64').replace(/=+$/, ''));
    TEST_USERNAMES.forEach((user, u) => {
      add(`${label} in a Basic header for TEST_USERNAMES[${u}]`, Buffer.from(`${user}:${pw}`).toString('base64').replace(/=+$/, ''));
    });
  });
  return needles;
}

export interface Leak {
  file: string;
  line: number;
  label: string;
}

/** The needles found in `text` (one entry per line and needle). */
export function findLeaks(text: string, file = '(text)', needles: readonly Needle[] = sensitiveNeedles()): Leak[] {
  const leaks: Leak[] = [];
  text.split('\n').forEach((line, i) => {
    for (const n of needles) if (line.includes(n.value)) leaks.push({ file, line: i + 1, label: n.label });
  });
  return leaks;
}

/**
 * `text` with every fixture form {@link sensitiveNeedles} knows replaced by its label (longest
 * first), for printing a child's output in a failure report outside the leak-checked capture.
 */
export function scrubSensitive(text: string, needles: readonly Needle[] = sensitiveNeedles()): string {
  let out = text;
  for (const n of [...needles].sort((a, b) => b.value.length - a.value.length)) out = out.split(n.value).join(`[${n.label}]`);
  return out;
}

/** Reads every capture file of the run. */
export function readCaptures(dir: string = TEST_LOG_DIR): { file: string; text: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.ndjson'));
  } catch {
    return [];
  }
  return names.sort().map((n) => ({ file: join(dir, n), text: readFileSync(join(dir, n), 'utf8') }));
}

/** Empties the capture directory (start of a run). */
export function resetCaptures(dir: string = TEST_LOG_DIR): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
