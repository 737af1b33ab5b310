import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { BusinessError, NotFoundError, UnavailableError } from '../domain/errors/index.ts';
import { ProblemError, problem, problemFromError, problemResponse, safeText } from './problem.ts';

describe('problemFromError', () => {
  it('when given a ProblemError, then its problem is used as is', () => {
    const init = problem('request.cursor_invalid');
    expect(problemFromError(new ProblemError(init))).toEqual({ init, serverSide: false });
  });

  it('when given a 4xx domain error, then its code, message and fields are kept', () => {
    const { init, serverSide } = problemFromError(
      new NotFoundError('merchant.not_found', 'No merchant with this id', { fields: [{ field: 'merchantId', reason: 'unknown' }] }),
    );
    expect(serverSide).toBe(false);
    expect(init).toEqual({
      status: 404,
      code: 'merchant.not_found',
      title: 'Not found',
      detail: 'No merchant with this id',
      errors: [{ field: 'merchantId', reason: 'unknown' }],
    });
  });

  it('when a field reason holds an IBAN, then a generic reason replaces it', () => {
    const { init } = problemFromError(
      new BusinessError('merchant.iban_refused', 'Refused', { fields: [{ field: 'iban', reason: 'IT60X0542811101000000123456 refused' }] }),
    );
    expect(init.errors).toEqual([{ field: 'iban', reason: 'is invalid' }]);
  });

  it.each([
    [0, '5'],
    [-3, '5'],
    [Number.NaN, '5'],
    [1, '1'],
    [2.1, '3'],
  ])('when retryAfterSeconds is %s, then Retry-After is %s', (seconds, header) => {
    const { init } = problemFromError(new UnavailableError('x.y', 'down', { retryAfterSeconds: seconds }));
    expect(init.headers).toEqual({ 'Retry-After': header });
  });

  it.each([null, undefined, 'a string', 42, { message: 'not a gateway error' }])('when given %s, then 500 internal.error', (thrown) => {
    expect(problemFromError(thrown).init).toMatchObject({ status: 500, code: 'internal.error' });
  });
});

describe('safeText', () => {
  it.each([
    ['The terminal is decommissioned', true],
    ['E101 invalid field', false],
    ['VAT_NO missing', false],
    ['CRM-409 duplicate', false],
    ['soap:Server fault', false],
    ['<Fault>', false],
    ['IT60 X054 2811 1010 0000 0123 456 refused', false],
    ['IT**************3456 refused (masked is fine)', true],
    ['x'.repeat(301), false],
    ['', false],
  ])('when the text is %j, then shown = %s', (text, shown) => {
    expect(safeText(text, 'fallback') === text).toBe(shown);
  });
});

describe('problemResponse', () => {
  it('when rendered, then problem+json with request id, no-store and extra headers', async () => {
    const app = new Hono<{ Variables: { requestId: string } }>();
    app.get('/x', (c) => {
      c.set('requestId', 'r-9');
      return problemResponse(c, problem('upstream.unavailable', { headers: { 'Retry-After': '7' } }));
    });
    const res = await app.request('/x');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('x-request-id')).toBe('r-9');
    expect(await res.json()).toEqual({
      type: 'https://legacy-gateway.dev/problems/upstream.unavailable',
      title: 'Service unavailable',
      status: 503,
      detail: 'A backing system is unavailable; retry after the time in Retry-After.',
      instance: '/x',
      code: 'upstream.unavailable',
      requestId: 'r-9',
    });
  });
});
