import { describe, expect, it } from 'vitest';
import { canonicalJson, requestFingerprint } from './fingerprint.ts';

const fp = (body: string) => requestFingerprint('POST', '/v1/merchants', body, 'application/json');

describe('canonicalJson', () => {
  it('when keys come in another order, then the text is the same', () => {
    expect(canonicalJson(JSON.parse('{"b":2,"a":{"d":1,"c":[3,1]}}'))).toBe('{"a":{"c":[3,1],"d":1},"b":2}');
  });

  it.each([
    ['top level', '{"a":1,"__proto__":{"x":1}}', '{"__proto__":{"x":1},"a":1}'],
    ['nested', '{"a":{"__proto__":{"admin":true},"b":1}}', '{"a":{"__proto__":{"admin":true},"b":1}}'],
    ['empty', '{"__proto__":{}}', '{"__proto__":{}}'],
  ])('when a body holds a __proto__ key (%s), then it is kept as a key, not turned into a prototype', (_where, body, expected) => {
    expect(canonicalJson(JSON.parse(body))).toBe(expected);
  });
});

describe('requestFingerprint', () => {
  it.each([
    ['__proto__', '{"legalName":"Bar","__proto__":{"vatNumber":"1"}}', '{"legalName":"Bar"}'],
    ['__proto__ nested', '{"address":{"__proto__":{"city":"Roma"}}}', '{"address":{}}'],
    ['constructor', '{"legalName":"Bar","constructor":{"prototype":{}}}', '{"legalName":"Bar"}'],
  ])('when two bodies differ only by a %s key, then their fingerprints differ', (_key, withKey, without) => {
    expect(fp(withKey)).not.toBe(fp(without));
  });

  it('when bodies differ only by key order or whitespace, then their fingerprints are equal', () => {
    expect(fp('{"a":1, "b":{"__proto__":{"x":1},"c":2}}')).toBe(fp('{"b":{"c":2,"__proto__":{"x":1}},"a":1}'));
  });
});
