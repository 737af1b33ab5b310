import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readRow } from '../../bench/support/ab-pairs.ts';

// Header and first row of the queue bench's table as printed on 2026-11-28: today's bench, and
// the bench of 2026-11-21 (issue 8's own figures), which `bench/queue/pairs.ts` also runs side by side.
const NOW = [
  'WORKER_CONCURRENCY  commands/s  Redis cmds/command  worker CPU µs/command  Redis CPU µs/command  simulators CPU µs/command  submitter CPU µs/command  BullMQ floor jobs/s  floor Redis cmds/job  floor CPU µs/job  submit/s  p50 ms  p99 ms  max ms  idle p50 ms  succeeded  failed  wall s  load avg (1 5 15)',
  '                16        2391  49.1                                  290                   129                        132                        73                10163  35.0                                62     10204     886    1587    2090            3       5000       0  2.1     1.56 0.78 0.33   ',
];
const ISSUE_TIME = [
  'WORKER_CONCURRENCY  commands/s  submit/s  p50 ms  p99 ms  max ms  idle p50 ms  succeeded  failed  wall s  load avg (1 5 15)',
  '                16         701      8224    2807    6462    6528            5       5000       0  7.1     1.03 0.63 0.27   ',
];

describe('reading a queue bench row by column name (bench/queue/pairs.ts)', () => {
  it('when the bench prints every column, then each name reads its own value', () => {
    const col = readRow(NOW[0] ?? '', NOW[1] ?? '');
    expect([col('commands/s'), col('worker CPU µs/command'), col('Redis CPU µs/command'), col('BullMQ floor jobs/s'), col('floor CPU µs/job')]).toEqual([2391, 290, 129, 10163, 62]);
  });

  it('when an older bench lacks a column, then it reads NaN and the others still read right', () => {
    const col = readRow(ISSUE_TIME[0] ?? '', ISSUE_TIME[1] ?? '');
    expect(col('commands/s')).toBe(701);
    expect(col('p99 ms')).toBe(6462);
    expect(col('worker CPU µs/command')).toBeNaN();
    // the load average is three numbers in one column: not read as a number
    expect(col('load avg (1 5 15)')).toBeNaN();
  });

  it('the header names it reads are the ones bench/queue/run.ts prints', () => {
    const bench = readFileSync(new URL('../../bench/queue/run.ts', import.meta.url), 'utf8');
    for (const name of ['commands/s', 'Redis cmds/command', 'worker CPU µs/command', 'Redis CPU µs/command', 'BullMQ floor jobs/s', 'floor CPU µs/job']) expect(bench).toContain(`'${name}'`);
  });
});
