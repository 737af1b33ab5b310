/** Request and response schemas of the v1 resources (camelCase JSON). */
import { z } from '@hono/zod-openapi';
import {
  LIFECYCLE_STATUSES,
  MERCHANT_SEGMENTS,
  STATUS_CHANGE_REASONS,
  TARGET_TERMINAL_STATUSES,
  TERMINAL_MODELS,
} from '../../domain/model.ts';
import {
  Address,
  AddressInput,
  addressFields,
  customerIdValue,
  email,
  iban,
  legalName,
  listOf,
  mcc,
  phone,
  taxCode,
  vatNumber,
} from './common.ts';

const segment = z.enum(MERCHANT_SEGMENTS, 'must be one of retail, corporate').openapi({ example: 'retail' });
const date = z.string().nullable().openapi({ description: 'ISO 8601 date (`YYYY-MM-DD`), null when unknown.', example: '2024-05-17' });

// ---------- merchants ----------

export const NewMerchantBody = z
  .strictObject({
    legalName,
    vatNumber,
    taxCode,
    segment,
    mcc,
    email: email.nullable().optional(),
    phone: phone.nullable().optional(),
    address: AddressInput,
    iban: iban.nullable().optional(),
    partnerId: customerIdValue.nullable().optional().openapi({ description: 'Partner that brought the merchant in.' }),
  })
  .openapi('NewMerchant');

export const MerchantPatchBody = z
  .strictObject({
    legalName: legalName.optional(),
    email: email.optional(),
    phone: phone.optional(),
    address: z
      .strictObject({
        line1: addressFields.line1.optional(),
        city: addressFields.city.optional(),
        postalCode: addressFields.postalCode.optional(),
        province: addressFields.province.optional(),
        country: addressFields.country.optional(),
      })
      .refine((a) => Object.keys(a).length > 0, 'must change at least one field')
      .optional(),
    iban: iban.optional(),
    partnerId: customerIdValue.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'must change at least one field')
  .openapi('MerchantPatch', {
    description:
      'Fields to change; absent fields stay as they are. A field cannot be cleared (the customer master ignores empty values): `null` or an empty string is refused with 422.',
  });

export const Merchant = z
  .object({
    id: z.string().openapi({ example: 'C000012345' }),
    legalName: z.string(),
    vatNumber: z.string(),
    taxCode: z.string(),
    segment,
    mcc: z.string().nullable().openapi({ description: 'Null in list results (read it on the merchant).' }),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    address: Address,
    iban: z.string().nullable().openapi({ description: 'Masked, e.g. `IT**************3456`.', example: 'IT**************3456' }),
    partnerId: z.string().nullable(),
    tmoMerchantId: z.string().nullable().openapi({ description: 'Id in the terminal system (15 digits), null until registered there.', example: '000000000012345' }),
    status: z.enum(LIFECYCLE_STATUSES).nullable().openapi({ description: 'Null in list results (read it on the merchant).' }),
    createdAt: date,
  })
  .openapi('Merchant');

export const MerchantList = listOf(Merchant, 'MerchantList');

// ---------- partners ----------

export const NewPartnerBody = z
  .strictObject({
    name: legalName,
    vatNumber,
    taxCode,
    email: email.nullable().optional(),
    phone: phone.nullable().optional(),
    address: AddressInput,
  })
  .openapi('NewPartner');

export const Partner = z
  .object({
    id: z.string().openapi({ example: 'C000000042' }),
    name: z.string(),
    vatNumber: z.string(),
    taxCode: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    address: Address,
    createdAt: date,
  })
  .openapi('Partner');

// ---------- terminals ----------

export const ShippingAddressInput = z
  .strictObject({
    line1: addressFields.line1,
    city: addressFields.city,
    postalCode: addressFields.postalCode,
    province: addressFields.province,
    country: z
      .string()
      .overwrite((s) => s.trim().toUpperCase())
      .refine((s) => s === 'IT', 'terminals ship to Italy only (IT)')
      .default('IT')
      .openapi({ description: 'Terminals ship within Italy only; defaults to IT.' }),
  })
  .openapi('ShippingAddressInput');

export const TerminalOrderBody = z
  .strictObject({
    model: z.enum(TERMINAL_MODELS, 'must be one of A920, P400, S1F2'),
    contactless: z.boolean('must be true or false'),
    currency: z.literal('EUR', 'must be EUR').default('EUR'),
    shippingAddress: ShippingAddressInput,
  })
  .openapi('TerminalOrder');

export const TerminalStatusBody = z
  .strictObject({
    status: z.enum(TARGET_TERMINAL_STATUSES, 'must be one of active, suspended, decommissioned'),
    reason: z.enum(STATUS_CHANGE_REASONS, 'must be one of merchant_request, suspected_fraud, lost_or_stolen, contract_ended, other'),
  })
  .openapi('TerminalStatusChange', { description: '`decommissioned` is final: a later change is refused (422).' });

export const TerminalActivity = z
  .object({
    date: z.string().openapi({ description: 'ISO date of the snapshot', example: '2026-11-27' }),
    transactionCount: z.number().int().openapi({ example: 42 }),
    amount: z
      .object({ amount: z.number().int().openapi({ description: 'Minor units (euro cents)', example: 123_450 }), currency: z.literal('EUR') })
      .openapi({ description: 'Amount transacted on that date' }),
  })
  .openapi('TerminalActivity');

export const Terminal = z
  .object({
    id: z.string().openapi({ example: 'T0000001' }),
    merchantId: z.string().nullable(),
    tmoMerchantId: z.string(),
    model: z.enum(TERMINAL_MODELS),
    serialNumber: z.string().nullable(),
    status: z.enum(LIFECYCLE_STATUSES),
    contactless: z.boolean(),
    currency: z.literal('EUR'),
    lastSeenAt: z.string().nullable().openapi({
      description: 'ISO 8601 instant, null when never seen. On a single read, the later of TMO\'s live value and the latest daily snapshot\'s.',
    }),
    activity: TerminalActivity.nullable().optional().openapi({
      description:
        'Activity on the date of the latest daily snapshot (TMO\'s TERMSTAT). Present on `GET /v1/terminals/{terminalId}`; null when no snapshot has the terminal yet.',
    }),
  })
  .openapi('Terminal');

export const TerminalList = listOf(Terminal, 'TerminalList');

// ---------- health ----------

export const Liveness = z.object({ status: z.literal('ok') }).openapi('Liveness');
export const Readiness = z
  .object({ status: z.enum(['ok', 'unavailable']), checks: z.record(z.string(), z.unknown()) })
  .openapi('Readiness');
