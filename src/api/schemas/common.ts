/**
 * Field schemas shared by the routes. The limits follow what the legacy systems accept, so
 * callers get a clear 422 from the gateway instead of a refusal from TMO or CRM (see
 * docs in the OpenAPI descriptions). Error messages never echo the input (IBANs!).
 */
import { isValidIban } from '../../domain/iban.ts';
import { z } from '@hono/zod-openapi';
import { ISO_COUNTRY_CODES } from './country-codes.ts';

export const MERCHANT_ID = /^C\d{9}$/;
export const TERMINAL_ID = /^[A-Z0-9]{8}$/;

const upperTrim = (s: string): string => s.trim().toUpperCase();

/**
 * Characters no name or address may hold (issue 7): C0 controls (tab and line breaks included),
 * DEL, C1 controls, the bidi embeddings/overrides/isolates and marks, and the Unicode line and
 * paragraph separators — they spoof what an operator reads and break legacy's fixed formats.
 */
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;
const safeText = (s: string): boolean => !UNSAFE_TEXT.test(s);
const SAFE_TEXT_REASON = 'must not contain control characters, line breaks or bidirectional overrides';

export const vatNumber = z
  .string()
  .overwrite((s) => s.trim())
  .regex(/^\d{11}$/, 'must be 11 digits (Italian partita IVA, no country prefix)')
  .openapi({ example: '01234567890', description: 'Italian VAT number (partita IVA): 11 digits.' });

export const taxCode = z
  .string()
  .overwrite(upperTrim)
  .regex(/^(?:[A-Z0-9]{16}|\d{11})$/, 'must be a 16-character codice fiscale or 11 digits')
  .openapi({ example: 'RSSMRA80A01F205X', description: 'Codice fiscale: 16 letters/digits (person) or 11 digits (company). Upper-cased.' });

export const mcc = z
  .string()
  .regex(/^\d{4}$/, 'must be 4 digits')
  .openapi({ example: '5812', description: 'ISO 18245 merchant category code, 4 digits.' });

export const email = z
  .email('must be an email address')
  .max(254, 'must be at most 254 characters')
  .openapi({ example: 'amministrazione@example.it' });

export const phone = z
  .string()
  .overwrite((s) => s.trim())
  .regex(/^\+?[0-9][0-9 ]{4,18}[0-9]$/, 'must be a phone number: digits and spaces, optional leading +, 6–20 characters')
  .openapi({ example: '+39 02 1234567' });

export const legalName = z
  .string()
  .overwrite((s) => s.trim())
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .refine(safeText, SAFE_TEXT_REASON)
  .openapi({ example: 'Caffè Società Srl', description: '1–200 characters. The terminal system keeps an upper-case ASCII version truncated to 40 characters.' });


export const iban = z
  .string()
  .overwrite((s) => s.replace(/\s+/g, '').toUpperCase())
  .regex(/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/, { error: 'must be an IBAN', abort: true })
  .refine((s) => !s.startsWith('IT') || s.length === 27, { error: 'an Italian IBAN has 27 characters', abort: true })
  .refine(isValidIban, 'is not a valid IBAN (check digits do not match)')
  .openapi({
    example: 'IT60X0542811101000000123456',
    description: 'Write-only in clear (spaces allowed); always read back masked, e.g. `IT**************3456`.',
  });

export const country = z
  .string()
  .overwrite(upperTrim)
  .refine((s) => ISO_COUNTRY_CODES.has(s), 'must be an ISO 3166-1 alpha-2 country code')
  .openapi({ example: 'IT', description: 'ISO 3166-1 alpha-2.', pattern: '^[A-Z]{2}$' });

export const addressFields = {
  line1: z.string().overwrite((s) => s.trim()).min(1, 'must not be empty').max(200, 'must be at most 200 characters').refine(safeText, SAFE_TEXT_REASON).openapi({ example: 'Via Roma 1' }),
  city: z.string().overwrite((s) => s.trim()).min(1, 'must not be empty').max(100, 'must be at most 100 characters').refine(safeText, SAFE_TEXT_REASON).openapi({ example: 'Milano' }),
  postalCode: z.string().regex(/^\d{5}$/, 'must be 5 digits').openapi({ example: '20121', description: 'CAP: 5 digits.' }),
  province: z.string().overwrite(upperTrim).regex(/^[A-Z]{2}$/, 'must be 2 letters').openapi({ example: 'MI', description: 'Two-letter province code (sigla).' }),
  country,
};

export const AddressInput = z.strictObject(addressFields).openapi('AddressInput');

export const Address = z
  .object({
    line1: z.string(),
    city: z.string(),
    postalCode: z.string(),
    province: z.string(),
    country: z.string(),
  })
  .openapi('Address', { example: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI', country: 'IT' } });

export const merchantIdParam = z
  .string()
  .regex(MERCHANT_ID)
  .openapi({ param: { name: 'merchantId', in: 'path' }, example: 'C000012345', description: 'Merchant id (`C` + 9 digits). A malformed id answers 404.' });

export const partnerIdParam = z
  .string()
  .regex(MERCHANT_ID)
  .openapi({ param: { name: 'partnerId', in: 'path' }, example: 'C000000042', description: 'Partner id (`C` + 9 digits). A malformed id answers 404.' });

export const terminalIdParam = z
  .string()
  .regex(TERMINAL_ID)
  .openapi({ param: { name: 'terminalId', in: 'path' }, example: 'T0000001', description: 'Terminal id (8 characters A–Z, 0–9). A malformed id answers 404.' });

/** A customer id used as a value (body, filter): malformed → 422. */
export const customerIdValue = z.string().regex(MERCHANT_ID, 'must be an id of the form C + 9 digits');

export const cursorQuery = z
  .string()
  .min(1)
  .max(1024)
  .optional()
  .openapi({ param: { name: 'cursor', in: 'query' }, description: 'Opaque cursor from a previous page\'s `nextCursor`. Use it with the same filter.' });

export function limitQuery(max: number) {
  return z.coerce
    .number<string>('must be an integer')
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`)
    .optional()
    .openapi({ param: { name: 'limit', in: 'query' }, description: `Page size, 1–${max} (default 20).`, example: 20, type: 'integer', minimum: 1, maximum: max, default: DEFAULT_LIMIT });
}

export const DEFAULT_LIMIT = 20;

export function listOf<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      items: z.array(item),
      nextCursor: z.string().nullable().openapi({ description: 'Cursor of the next page, null on the last page.' }),
    })
    .openapi(name);
}

/** A JSON request or response body of `schema` (OpenAPI `content`). */
export const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });
