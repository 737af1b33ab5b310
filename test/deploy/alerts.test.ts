/**
 * deploy/prometheus/alerts.yaml loads in Prometheus (`promtool check rules`) and each alert fires
 * when it should, and not before (`promtool test rules` over alerts.test.yaml). promtool comes
 * from Debian's `prometheus` package, which `.ci/run` installs; a machine without it skips,
 * saying so, rather than fails (as the browser tests do without chromium).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
if (!hasPromtool) console.warn('test/deploy/alerts.test.ts: SKIPPED — promtool not found (apt-get install prometheus)');

function promtool(...args: string[]) {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!hasPromtool)('Prometheus alert rules (promtool)', () => {
  it('when the rules are checked, then every rule loads', () => {
    const r = promtool('check', 'rules', 'alerts.yaml');
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it('when the rule unit tests run, then each alert fires when it should and not before', () => {
    const r = promtool('test', 'rules', 'alerts.test.yaml');
    expect(r.out).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
