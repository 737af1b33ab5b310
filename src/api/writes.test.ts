import { describe, expect, it } from 'vitest';
import type { OperationKind, SubmitContext, SubmitResult } from '../jobs/types.ts';
import { createHarness, newMerchantBody } from './test-support/harness.ts';
import type { WriteSubmitter } from './writes.ts';

/** A submitter that accepts everything for later and records what it was given. */
function acceptingWrites(): WriteSubmitter & { seen: Array<{ kind: OperationKind; ctx: SubmitContext }> } {
  const seen: Array<{ kind: OperationKind; ctx: SubmitContext }> = [];
  return {
    seen,
    async submit(kind, _input, ctx): Promise<SubmitResult> {
      seen.push({ kind, ctx });
      return { outcome: 'accepted', operationId: 'op_0123456789abcdef0123456789abcdef' };
    },
  };
}

const orderBody = {
  model: 'A920',
  contactless: true,
  currency: 'EUR',
  shippingAddress: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI' },
};

describe('write routes through a WriteSubmitter', () => {
  it.each([
    ['POST', '/v1/merchants', () => newMerchantBody(), 'merchant.onboard'],
    ['PATCH', '/v1/merchants/C000000001', () => ({ legalName: 'New Name' }), 'merchant.update'],
    ['POST', '/v1/partners', () => ({ ...newMerchantBody(), name: 'Partner', legalName: undefined, segment: undefined, mcc: undefined, iban: undefined }), 'partner.create'],
    ['POST', '/v1/merchants/C000000001/terminals', () => orderBody, 'terminal.order'],
    ['POST', '/v1/terminals/TAB12345/status', () => ({ status: 'suspended', reason: 'suspected_fraud' }), 'terminal.status'],
  ] as const)('when %s %s is accepted for later, then 202 with Location to the operation', async (method, path, body, kind) => {
    const writes = acceptingWrites();
    const h = createHarness({ writes });
    const res = await h.json(method, path, body(), { 'Idempotency-Key': 'k-1', Prefer: 'respond-async' });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe('/v1/operations/op_0123456789abcdef0123456789abcdef');
    expect(res.headers.get('preference-applied')).toBe('respond-async');
    expect(await res.json()).toEqual({
      operationId: 'op_0123456789abcdef0123456789abcdef',
      status: 'queued',
      href: '/v1/operations/op_0123456789abcdef0123456789abcdef',
    });
    expect(writes.seen).toEqual([{ kind, ctx: expect.objectContaining({ preferAsync: true }) }]);
  });

  it('when no Prefer header is sent, then the submitter is asked to apply now and the caller\'s subject travels with it', async () => {
    const writes = acceptingWrites();
    const h = createHarness({ writes });
    const res = await h.json('POST', '/v1/merchants', newMerchantBody());
    expect(res.status).toBe(202);
    expect(res.headers.get('preference-applied')).toBeNull();
    expect(writes.seen[0]?.ctx).toMatchObject({ preferAsync: false, principal: expect.any(String) });
    expect(writes.seen[0]?.ctx.principal).not.toBe('');
  });

  it('when the submitter completes, then the route answers the operation\'s status with the mapped resource', async () => {
    const h = createHarness();
    const res = await h.json('POST', '/v1/merchants', newMerchantBody());
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; iban: string | null };
    expect(res.headers.get('location')).toBe(`/v1/merchants/${body.id}`);
    expect(body.iban).not.toBe(newMerchantBody().iban);
  });
});
