/**
 * Domain → API shapes. Each mapper copies *listed* fields only, so nothing the domain adds
 * later leaks by accident. The IBAN is only ever shown masked.
 */
import { maskIban } from '../domain/iban.ts';
import type { z } from '@hono/zod-openapi';
import type { Address, Merchant, Partner } from '../domain/model.ts';
import type { MerchantTerminal } from '../domain/services/types.ts';
import type { TerminalSnapshotView } from '../domain/terminal-snapshot.ts';
import type { Merchant as MerchantSchema, Partner as PartnerSchema, Terminal as TerminalSchema } from './schemas/resources.ts';

export type MerchantDto = z.infer<typeof MerchantSchema>;
export type PartnerDto = z.infer<typeof PartnerSchema>;
export type TerminalDto = z.infer<typeof TerminalSchema>;

function address(a: Address): Address {
  return { line1: a.line1, city: a.city, postalCode: a.postalCode, province: a.province, country: a.country };
}

export function toMerchantDto(m: Merchant): MerchantDto {
  return {
    id: m.id,
    legalName: m.legalName,
    vatNumber: m.vatNumber,
    taxCode: m.taxCode,
    segment: m.segment,
    mcc: m.mcc,
    email: m.email,
    phone: m.phone,
    address: address(m.address),
    // masked again: defence in depth, never an IBAN in clear whatever the domain holds
    iban: m.ibanMasked ? maskIban(m.ibanMasked) : null,
    partnerId: m.partnerId,
    tmoMerchantId: m.tmoMerchantId,
    status: m.status,
    createdAt: m.createdAt,
  };
}

export function toPartnerDto(p: Partner): PartnerDto {
  return {
    id: p.id,
    name: p.name,
    vatNumber: p.vatNumber,
    taxCode: p.taxCode,
    email: p.email,
    phone: p.phone,
    address: address(p.address),
    createdAt: p.createdAt,
  };
}

/** The later of two ISO instants (either may be null). */
function later(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/**
 * Terminal → DTO. With `snapshot` (a single read), `activity` comes from the latest daily
 * snapshot (null when it does not have the terminal) and `lastSeenAt` is the later of the two.
 */
export function toTerminalDto(t: MerchantTerminal, snapshot?: TerminalSnapshotView | null): TerminalDto {
  if (snapshot === undefined) return toTerminalBase(t);
  // one literal per shape, fields in the same order as before (the JSON is byte-identical):
  // spreading the base into a second object cost a copy per read (issue 8)
  if (snapshot === null) return toTerminalWithActivity(t, t.lastSeenAt, null);
  return toTerminalWithActivity(t, later(t.lastSeenAt, snapshot.lastSeenAt), {
    date: snapshot.activity.date,
    transactionCount: snapshot.activity.transactionCount,
    amount: { amount: snapshot.activity.amount.amount, currency: snapshot.activity.amount.currency },
  });
}

function toTerminalWithActivity(t: MerchantTerminal, lastSeenAt: string | null, activity: TerminalDto['activity']): TerminalDto {
  return {
    id: t.id,
    merchantId: t.merchantId,
    tmoMerchantId: t.tmoMerchantId,
    model: t.model,
    serialNumber: t.serialNumber,
    status: t.status,
    contactless: t.contactless,
    currency: t.currency,
    lastSeenAt,
    activity,
  };
}

function toTerminalBase(t: MerchantTerminal): TerminalDto {
  return {
    id: t.id,
    merchantId: t.merchantId,
    tmoMerchantId: t.tmoMerchantId,
    model: t.model,
    serialNumber: t.serialNumber,
    status: t.status,
    contactless: t.contactless,
    currency: t.currency,
    lastSeenAt: t.lastSeenAt,
  };
}
