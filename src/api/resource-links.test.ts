import { describe, expect, it } from 'vitest';
import { resourceHref } from './resource-links.ts';

describe('resourceHref', () => {
  it.each([
    [{ type: 'merchant', id: 'C000000001' }, undefined, '/v1/merchants/C000000001'],
    [{ type: 'partner', id: 'C000000002' }, 'partner.create', '/v1/partners/C000000002'],
    [{ type: 'terminal', id: 'TAB 1/2' }, 'terminal.order', '/v1/terminals/TAB%201%2F2'],
    [{ type: 'terminal', id: 'TAB12345' }, 'terminal.settings', '/v1/terminals/TAB12345/settings'],
  ] as const)('when the jobs name %j (operation %s), then the API path is %s', (resource, kind, href) => {
    expect(resourceHref(resource, kind)).toBe(href);
  });
});
