import { expect } from 'vitest';
import type { ProblemBody } from '../problem.ts';

/** The clear IBAN tests send (one of the run-wide leak-check fixtures). */
export const CLEAR_IBAN = 'IT60X0542811101000000123456';

/** Asserts a problem+json response without stack traces or the clear IBAN, and returns its body. */
export async function problemOf(res: Response): Promise<ProblemBody> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const text = await res.text();
  expect(text).not.toMatch(/\bat [^\n]+:\d+:\d+/);
  expect(text).not.toContain(CLEAR_IBAN);
  const body = JSON.parse(text) as ProblemBody;
  expect(body.requestId).toBe(res.headers.get('x-request-id'));
  expect(body.type).toBe(`https://legacy-gateway.dev/problems/${body.code}`);
  expect(body.status).toBe(res.status);
  return body;
}
