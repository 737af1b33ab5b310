// CONTRACT.md § CRM Auth: WS-Security 1.0 UsernameToken, PasswordText, no Timestamp.
// Byte-compatible with node-soap's `new WSSecurity(user, pw, { passwordType: 'PasswordText',
// hasTimeStamp: false })`: same element order, namespaces, `wsu:Id` and `wsu:Created`.
import { xmlEscape } from './envelope.ts';

const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const PASSWORD_TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

/** `YYYY-MM-DDTHH:MM:SSZ` (no milliseconds), as node-soap writes `wsu:Created`. */
function created(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

/**
 * Returns a function producing the `wsse:Security` header for an instant. The escaped
 * credentials are baked in once; the result is cached per second (the only part that changes).
 */
export function usernameTokenHeader(username: string, password: string): (now: Date) => string {
  const user = `<wsse:Username>${xmlEscape(username)}</wsse:Username>`;
  const pass = `<wsse:Password Type="${PASSWORD_TEXT}">${xmlEscape(password)}</wsse:Password>`;
  let cachedSecond = -1;
  let cached = '';
  return (now) => {
    const second = Math.floor(now.getTime() / 1000);
    if (second !== cachedSecond) {
      const c = created(now);
      cached =
        `<wsse:Security xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}">` +
        `<wsse:UsernameToken xmlns:wsu="${WSU_NS}" wsu:Id="SecurityToken-${c}">` +
        `${user}${pass}<wsu:Created>${c}</wsu:Created></wsse:UsernameToken></wsse:Security>`;
      cachedSecond = second;
    }
    return cached;
  };
}
