/**
 * The run-wide half of the log-leak acceptance test (see test/support/log-capture.ts).
 *
 *   tsx scripts/check-log-leaks.ts --reset   empty .tmp/test-logs/ before `vitest run`
 *   tsx scripts/check-log-leaks.ts           grep every captured line for the test IBANs and
 *                                            passwords; exit 1 on any hit, or when the capture
 *                                            is missing (so a broken capture cannot pass)
 *
 * Hits are reported by fixture label, file and line: never by value.
 */
import { relative } from 'node:path';
import { CAPTURE_CANARY, findLeaks, readCaptures, resetCaptures, TEST_LOG_DIR } from '../test/support/log-capture.ts';

function main(argv: readonly string[]): number {
  if (argv.includes('--reset')) {
    resetCaptures();
    console.log(`log-leak check: emptied ${relative(process.cwd(), TEST_LOG_DIR)}/`);
    return 0;
  }
  const captures = readCaptures();
  const lines = captures.reduce((n, c) => n + c.text.split('\n').filter(Boolean).length, 0);
  if (!captures.some((c) => c.text.includes(CAPTURE_CANARY))) {
    console.error(
      `log-leak check: FAILED — no capture with the canary in ${TEST_LOG_DIR} ` +
        '(did test/log-leak.test.ts run in this `vitest run`?).',
    );
    return 1;
  }
  const leaks = captures.flatMap((c) => findLeaks(c.text, relative(process.cwd(), c.file)));
  if (leaks.length > 0) {
    console.error(`log-leak check: FAILED — ${leaks.length} sensitive value(s) in the test logs:`);
    for (const l of leaks.slice(0, 50)) console.error(`  ${l.file}:${l.line}  ${l.label}`);
    return 1;
  }
  console.log(`log-leak check: ${lines} log lines from ${captures.length} test process(es), no test IBAN or password found.`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
