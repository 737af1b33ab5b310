import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { maskIban } from '../domain/iban.ts';
import { batchingDestination, createLogger, isValidIban, MAYBE_SENSITIVE, redactBelowTop, sanitizeForLog, scrubAllPatterns, scrubText, serializeError, type Logger } from './logger.ts';

const IBAN = 'IT60X0542811101000000123456';
const MASKED = `IT${'*'.repeat(14)}3456`; // the one mask shape (domain/iban.ts)
const JWT_SAMPLE =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjbGllbnQtMSIsInNjb3BlIjoibWVyY2hhbnRzOnJlYWQifQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';
const BASIC = `Basic ${Buffer.from('GATEWAY:tmo-Pa55word').toString('base64')}`;

function captured(level: 'info' | 'debug' = 'info'): { logger: Logger; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ level, destination });
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('scrubText', () => {
  it.each([
    ['a compact IBAN', `payout to ${IBAN} today`, `payout to ${MASKED} today`],
    ['a grouped IBAN', 'IBAN IT60 X054 2811 1010 0000 0123 456.', `IBAN ${MASKED}.`],
    ['a lower-case IBAN with a valid checksum', `iban=${IBAN.toLowerCase()}`, `iban=${MASKED}`],
    ['a Basic credential', `Authorization: ${BASIC}`, 'Authorization: Basic ***'],
    ['a Bearer token', 'authorization: Bearer abc.def-ghi_jkl', 'authorization: Bearer ***'],
    ['a bare JWT', `token was ${JWT_SAMPLE}!`, 'token was [JWT]!'],
    [
      'a WS-Security password',
      '<wsse:Password Type="http://docs.oasis-open.org/wss#PasswordText">crm-Pa55word</wsse:Password>',
      '<wsse:Password Type="http://docs.oasis-open.org/wss#PasswordText">***</wsse:Password>',
    ],
    ['an Iban element', `<crm:Iban>${IBAN}</crm:Iban>`, `<crm:Iban>${MASKED}</crm:Iban>`],
    ['an escaped Password element', '&lt;Password&gt;hunter22&lt;/Password&gt;', '&lt;Password&gt;***&lt;/Password&gt;'],
    ['a password pair', 'login?user=a&password=hunter22&x=1', 'login?user=a&password=***&x=1'],
    ['a JSON secret field', '{"clientSecret":"s3\\"cr3t","n":1}', '{"clientSecret":"***","n":1}'],
    ['a URL password', 'redis://default:hunter22@redis:6379/0', 'redis://default:***@redis:6379/0'],
  ])('when the text holds %s, then it is masked', (_case, input, expected) => {
    expect(scrubText(input)).toBe(expected);
  });

  it.each([
    ['prose about Basic auth', 'Basic information about the merchant'],
    ['a merchant id', 'MID 000000000012345 TID AB12CD34'],
    ['a customer id and a request id', 'C000012345 req 3f1c9a7e-8c1d-4a7b-9d0e-1f2a3b4c5d6e'],
    ['a lower-case id that is not an IBAN', 'job ab12cdef34567890xyz'],
  ])('when the text holds only %s, then it is unchanged', (_case, input) => {
    expect(scrubText(input)).toBe(input);
  });

  it('when any pattern would change a text, then the one-pass shortcut (MAYBE_SENSITIVE) sees it too', () => {
    // Fragments that trigger each pattern, and harmless ones, glued in random orders (seeded).
    const triggers = [
      IBAN, IBAN.toLowerCase(), 'IT60 X054 2811 1010 0000 0123 456', 'DE89 3704 0044 0532 0130 00', BASIC, 'Bearer abc.def', JWT_SAMPLE,
      '<wsse:Password>x</wsse:Password>', '<Nonce>n</Nonce>', '<x:BinarySecurityToken>b</x:BinarySecurityToken>', '<Iban>IT60X054281110</Iban>',
      '&lt;Password&gt;p&lt;/Password&gt;', 'password=hunter2', 'PWD: x', 'api_key=k', 'refresh-token=t', 'client_secret=s',
      '{"authorization":"a"}', '{"Cookie":"c"}', '{"myIban":"IT60X0542811101000000123456"}', 'redis://u:p@h', 'ftp://a:b@c',
    ];
    const harmless = ['GET', '/v1/terminals/T0000001', 'status 200', 'C000012345', 'req 3f1c9a7e-8c1d', ' ', '"', ':', '=', 'x', 'AB12CD34'];
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    let changed = 0;
    for (let i = 0; i < 3000; i++) {
      const parts = Array.from({ length: 1 + rnd(4) }, () => (rnd(4) === 0 ? triggers[rnd(triggers.length)] : harmless[rnd(harmless.length)]) as string);
      const text = parts.join(rnd(2) === 0 ? ' ' : '');
      if (scrubAllPatterns(text) !== text) {
        changed += 1;
        expect(MAYBE_SENSITIVE.test(text), text).toBe(true);
      }
    }
    for (const t of triggers) expect(scrubAllPatterns(t), t).not.toBe(t);
    expect(changed).toBeGreaterThan(300);
  });

  it('when an access-log line holds nothing sensitive, then the shortcut lets it through unchanged', () => {
    const line = '{"level":30,"time":1764240000000,"requestId":"3f1c9a7e-8c1d-4a7b-9d0e-1f2a3b4c5d6e","method":"GET","path":"/v1/terminals/T0000001","status":200,"durationMs":1.2,"msg":"request"}';
    expect(MAYBE_SENSITIVE.test(line)).toBe(false);
    expect(scrubText(line)).toBe(line);
  });

  it('when scrubbed twice, then the second pass changes nothing', () => {
    const once = scrubText(`${IBAN} ${BASIC} Bearer ${JWT_SAMPLE} <Password>x</Password> password=y`);
    expect(scrubText(once)).toBe(once);
  });
});

describe('IBAN helpers', () => {
  it.each([
    [IBAN, true],
    ['DE89370400440532013000', true],
    ['GB82WEST12345698765432', true],
    ['IT60X0542811101000000123457', false],
  ])('when %s is checked, then valid is %s', (iban, valid) => {
    expect(isValidIban(iban)).toBe(valid);
  });

  it('when masked, then only the country and the last four remain', () => {
    expect(maskIban('DE89370400440532013000')).toBe('DE**************3000');
  });
});

describe('serializeError', () => {
  it('when given an axios/node-soap error, then only classified fields survive', () => {
    const err = Object.assign(new Error(`Request failed for ${IBAN}`), {
      code: 'ECONNABORTED',
      config: { headers: { Authorization: BASIC }, data: '<Password>crm-Pa55word</Password>' },
      request: { _header: `POST / HTTP/1.1\r\nAuthorization: ${BASIC}` },
      response: { status: 500, config: { headers: { Authorization: BASIC } }, data: `<Iban>${IBAN}</Iban>` },
      lastRequest: `<Iban>${IBAN}</Iban>`,
      root: { Envelope: { Body: { Fault: { faultcode: 'soap:Server' } } } },
    });
    const out = serializeError(err);
    expect(out).toEqual({ name: 'Error', code: 'ECONNABORTED', status: 500, message: `Request failed for ${MASKED}` });
  });

  it('when the error is a gateway error with a cause, then kind, retryable and the reduced cause are kept', () => {
    const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', config: { auth: { password: 'x' } } });
    const err = Object.assign(new Error('TMO did not answer', { cause }), { kind: 'unavailable', code: 'tmo.unavailable', retryable: true, system: 'tmo' });
    err.name = 'UnavailableError';
    expect(serializeError(err)).toEqual({
      name: 'UnavailableError',
      message: 'TMO did not answer',
      code: 'tmo.unavailable',
      kind: 'unavailable',
      retryable: true,
      system: 'tmo',
      cause: { name: 'Error', message: 'socket hang up', code: 'ECONNRESET' },
    });
  });
});

describe('sanitizeForLog', () => {
  it('when the object is nested and cyclic, then secrets are masked at any depth and the input is unchanged', () => {
    const input: Record<string, unknown> = { a: { b: { c: { password: 'p', Iban: IBAN, apiKey: 'k', note: `see ${IBAN}` } } } };
    input.self = input;
    const out = sanitizeForLog(input);
    expect(out).toEqual({
      a: { b: { c: { password: '***', Iban: `${MASKED}`, apiKey: '***', note: `see ${MASKED}` } } },
      self: '[Circular]',
    });
    expect((input.a as { b: { c: { password: string } } }).b.c.password).toBe('p');
  });
});

describe('createLogger', () => {
  it('when a request with a bearer token and nested credentials is logged, then none of it is written', () => {
    const { logger, text, lines } = captured();
    logger.info(
      {
        req: { method: 'POST', url: '/merchants', headers: { authorization: `Bearer ${JWT_SAMPLE}`, cookie: 'sid=abc' } },
        body: { merchant: { bank: { iban: IBAN } } },
        deep: { x: { y: { z: { password: 'tmo-Pa55word', token: 'tok-123456' } } } },
      },
      'incoming',
    );
    const out = text();
    for (const secret of [IBAN, JWT_SAMPLE, 'tmo-Pa55word', 'tok-123456', 'sid=abc']) expect(out).not.toContain(secret);
    expect(lines()[0]).toMatchObject({ msg: 'incoming', req: { method: 'POST', headers: { authorization: '***' } } });
  });

  it('when an error carrying the SOAP request is logged, then the line keeps only the classified fields', () => {
    const { logger, text, lines } = captured();
    const err = Object.assign(new Error('Error http status codes'), {
      response: { status: 401, config: { headers: { Authorization: BASIC } } },
      config: { data: `<soap:Envelope><wsse:Password>crm-Pa55word</wsse:Password><Iban>${IBAN}</Iban></soap:Envelope>` },
    });
    logger.error(err);
    logger.error({ err, op: 'CreateCustomer' }, 'legacy call failed');
    logger.warn({ wrapped: { inner: err } }, 'nested');
    const out = text();
    for (const secret of [IBAN, 'crm-Pa55word', BASIC.slice(6)]) expect(out).not.toContain(secret);
    const [first, second, third] = lines();
    expect(first).toMatchObject({ msg: 'Error http status codes', err: { name: 'Error', status: 401 } });
    expect(second).toMatchObject({ msg: 'legacy call failed', op: 'CreateCustomer', err: { status: 401 } });
    expect(third).toMatchObject({ wrapped: { inner: { status: 401 } } });
  });

  it('when secrets are in the message or its format arguments, then they are masked', () => {
    const { logger, text } = captured();
    logger.info(`sending <Iban>${IBAN}</Iban> with ${BASIC}`);
    logger.info('header %s for %s', BASIC, IBAN);
    const out = text();
    expect(out).not.toContain(IBAN);
    expect(out).not.toContain(BASIC);
    expect(out).toContain(`<Iban>${MASKED}</Iban>`);
  });

  it('when a child logger binds secrets, then the written line is still scrubbed', () => {
    const { logger, text } = captured();
    logger.child({ iban: IBAN, password: 'tmo-Pa55word', auth: `Bearer ${JWT_SAMPLE}` }).info('child');
    const out = text();
    for (const secret of [IBAN, 'tmo-Pa55word', JWT_SAMPLE]) expect(out).not.toContain(secret);
    expect(out).toContain('"msg":"child"');
  });

  it('when a `*.key` redact path matches one level down, in a line or in child bindings, then it is masked', () => {
    // `lastRequest` is not a sensitive key name for the hook: only the `*.lastRequest` path masks it
    const { logger, lines } = captured();
    logger.child({ call: { lastRequest: 'envelope with secret-1', op: 'GetTerminal' } }).info({ soap: { lastRequest: 'envelope with secret-2', status: 500 } }, 'call');
    const [line] = lines();
    expect(line).toMatchObject({ call: { lastRequest: '***', op: 'GetTerminal' }, soap: { lastRequest: '***', status: 500 }, msg: 'call' });
  });

  it('when the level is above the call, then nothing is written', () => {
    const { logger, text } = captured();
    logger.debug('hidden');
    expect(text()).toBe('');
  });
});

describe('redactBelowTop', () => {
  it('when a path matches, then a copy is masked and the input is unchanged; when none does, then the input itself is returned', () => {
    const nested = { password: 'p', keep: 1 };
    const input = { a: nested, n: 2, s: 'password' };
    expect(redactBelowTop(input)).toEqual({ a: { password: '***', keep: 1 }, n: 2, s: 'password' });
    expect(nested.password).toBe('p');
    const plain = { method: 'GET', status: 200, nested: { ok: true } };
    expect(redactBelowTop(plain)).toBe(plain);
  });
});

describe('batchingDestination', () => {
  function recorder() {
    const writes: string[] = [];
    let flushedSync = 0;
    return { writes, flushedSync: () => flushedSync, dest: { write: (s: string) => void writes.push(s), flushSync: () => void flushedSync++ } };
  }

  it('when lines arrive below the size limit, then they are written together, in order, after the delay', async () => {
    const r = recorder();
    const d = batchingDestination(r.dest, { maxDelayMs: 5 });
    d.write('a\n');
    d.write('b\n');
    expect(r.writes).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(r.writes).toEqual(['a\nb\n']);
    d.close();
  });

  it('when the held lines reach the size limit, then they are written at once', () => {
    const r = recorder();
    const d = batchingDestination(r.dest, { maxDelayMs: 60_000, maxChars: 8 });
    d.write('1234\n');
    d.write('5678\n');
    expect(r.writes).toEqual(['1234\n5678\n']);
    d.close();
  });

  it('when a warn or error line arrives, then it is written at once, after the lines held before it', () => {
    const r = recorder();
    const d = batchingDestination(r.dest, { maxDelayMs: 60_000 });
    d.write('{"level":30,"msg":"info"}\n');
    d.write('{"level":20,"msg":"debug"}\n');
    expect(r.writes).toEqual([]);
    d.write('{"level":40,"msg":"warn"}\n');
    expect(r.writes).toEqual(['{"level":30,"msg":"info"}\n{"level":20,"msg":"debug"}\n{"level":40,"msg":"warn"}\n']);
    d.write('{"level":30,"msg":"held again"}\n');
    d.write('{"level":50,"msg":"error"}\n');
    d.write('{"level":60,"msg":"fatal"}\n');
    expect(r.writes).toEqual([
      '{"level":30,"msg":"info"}\n{"level":20,"msg":"debug"}\n{"level":40,"msg":"warn"}\n',
      '{"level":30,"msg":"held again"}\n{"level":50,"msg":"error"}\n',
      '{"level":60,"msg":"fatal"}\n',
    ]);
    d.close();
  });

  it('when flushed synchronously, then the held lines go to the destination before its own flushSync', () => {
    const r = recorder();
    const d = batchingDestination(r.dest, { maxDelayMs: 60_000 });
    d.write('held\n');
    d.flushSync?.();
    expect(r.writes).toEqual(['held\n']);
    expect(r.flushedSync()).toBe(1);
    d.close();
  });

  it('when the process exits right after logging, then the held lines reach stdout', () => {
    const logger = fileURLToPath(new URL('./logger.ts', import.meta.url));
    const script = `const { createLogger } = await import(${JSON.stringify(logger)}); const l = createLogger(); l.info('first'); l.warn('last before exit'); process.exit(3);`;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(out.status).toBe(3);
    const msgs = out.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual(['first', 'last before exit']);
  });

  it.each([
    ['exits', "process.exit(3);"],
    ['crashes on an uncaught exception', "setImmediate(() => { throw new Error('crash'); });"],
  ])('when the process %s with only info lines held, then they reach stdout', (_what, end) => {
    // no warn line: nothing but the exit flush writes the held lines
    const logger = fileURLToPath(new URL('./logger.ts', import.meta.url));
    const script = `const { createLogger } = await import(${JSON.stringify(logger)}); const l = createLogger(); l.info('first'); l.info('last before exit'); ${end}`;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(out.status).not.toBe(0);
    const msgs = out.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual(['first', 'last before exit']);
  });
});
