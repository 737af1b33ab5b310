import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import { sanitizeMessage } from './sanitize.ts';

export type AuditOutcome = 'succeeded' | 'rejected' | 'failed';

export interface AuditEntry {
  /** stream id, usable as a cursor */
  id: string;
  at: string;
  /** principal subject */
  actor: string;
  /** e.g. `dead_letter.retry`, `dead_letter.discard`, `dead_letter.retry_all` */
  action: string;
  /** e.g. a dead letter id, or a filter as JSON for bulk actions */
  target: string;
  outcome: AuditOutcome;
  /** short free text (reason of a discard, count of a bulk retry); sanitized */
  detail: string;
}

export interface AuditTrail {
  record(e: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry>;
  /** Newest first; `cursor` is the id of the last entry of the previous page. */
  list(q: { cursor?: string; limit: number }): Promise<{ items: AuditEntry[]; nextCursor: string | null }>;
}

/**
 * The ops audit trail: a Redis stream, append-only, capped (approximately) at `maxLen`
 * entries so it cannot grow without bound; ids double as time-ordered cursors.
 */
export function createAuditTrail(redis: Redis, keys: Keys, opts: { maxLen?: number; retentionMs?: number } = {}): AuditTrail {
  const maxLen = opts.maxLen ?? 100_000;
  // AUDIT_RETENTION_DAYS: entries older than this are trimmed (stream ids start with their time in ms)
  const retentionMs = opts.retentionMs ?? 400 * 86_400_000;

  function toEntry(id: string, fields: string[]): AuditEntry {
    const m = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i] ?? '', fields[i + 1] ?? '');
    return {
      id,
      at: m.get('at') ?? '',
      actor: m.get('actor') ?? '',
      action: m.get('action') ?? '',
      target: m.get('target') ?? '',
      outcome: (m.get('outcome') ?? 'failed') as AuditOutcome,
      detail: m.get('detail') ?? '',
    };
  }

  return {
    async record(e) {
      const at = new Date().toISOString();
      const detail = sanitizeMessage(e.detail);
      const [added] =
        (await redis
          .multi()
          .xadd(
            keys.audit,
            'MAXLEN',
            '~',
            String(maxLen),
            '*',
            'at', at, 'actor', e.actor, 'action', e.action, 'target', e.target, 'outcome', e.outcome, 'detail', detail,
          )
          .xtrim(keys.audit, 'MINID', '~', `${Date.now() - retentionMs}-0`)
          .exec()) ?? [];
      const id = added?.[1];
      return { ...e, detail, id: typeof id === 'string' ? id : '', at };
    },

    async list({ cursor, limit }) {
      const end = cursor ? `(${cursor}` : '+';
      const rows = (await redis.xrevrange(keys.audit, end, '-', 'COUNT', limit + 1)) as [string, string[]][];
      const items = rows.slice(0, limit).map(([id, fields]) => toEntry(id, fields));
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? last.id : null };
    },
  };
}
