import { describe, expect, it } from 'vitest';
import { createCapturedLogger } from '../test/support/log-capture.ts';
import { createShutdown, SHUTDOWN_ORDER } from './gateway.ts';

describe('shutdown steps', () => {
  const logger = createCapturedLogger({ name: 'gateway-shutdown' });

  it('when steps are added out of order, then run() calls them in SHUTDOWN_ORDER', async () => {
    const shutdown = createShutdown(logger);
    const ran: string[] = [];
    for (const step of [...SHUTDOWN_ORDER].reverse()) shutdown.add(step, () => ran.push(step));
    await shutdown.run();
    expect(ran).toEqual([...SHUTDOWN_ORDER]);
  });

  it('when one step throws, then every later step still runs, and each runs once however often run() is called', async () => {
    const shutdown = createShutdown(logger);
    const ran: string[] = [];
    shutdown.add('http', () => ran.push('http'));
    shutdown.add('workers', () => {
      ran.push('workers');
      throw new Error('workers would not stop');
    });
    shutdown.add('operations', () => Promise.reject(new Error('queues would not close')));
    shutdown.add('private redis', () => ran.push('private redis'));
    shutdown.add('private redis', () => ran.push('private redis (second)'));
    await Promise.all([shutdown.run(), shutdown.run()]);
    await shutdown.run();
    expect(ran).toEqual(['http', 'workers', 'private redis', 'private redis (second)']);
  });

  it('when a step is added after shutdown started, then add() throws instead of leaving it unrun', async () => {
    const shutdown = createShutdown(logger);
    await shutdown.run();
    expect(() => shutdown.add('http', () => undefined)).toThrow(/already started/);
  });

  it('when a step name is not one of SHUTDOWN_ORDER, then it does not compile', () => {
    const shutdown = createShutdown(logger);
    // @ts-expect-error — a renamed step cannot be registered (and so cannot be skipped silently)
    expect(() => shutdown.add('idempotency-redis', () => undefined)).not.toThrow();
  });
});
