import type { DeadLetters } from '../dead-letters.ts';
import { SETTINGS_FILE_STEP } from '../handlers/terminal-settings.ts';
import type { Keys } from '../keys.ts';
import type { OperationStore } from '../operation-store.ts';
import type { StepRecord, StoredError } from '../types.ts';
import type { Redis } from 'ioredis';
import type { ChangeSummary } from './store.ts';

/** What each final change state means for its operation's problem (kind → HTTP status at the edge). */
const FAILURE: Record<string, { kind: StoredError['kind']; message: string }> = {
  'terminal.invalid_settings': { kind: 'business', message: 'TMO refused a field of the settings.' },
  'terminal.not_found': { kind: 'not_found', message: 'TMO does not know the terminal.' },
  'terminal.decommissioned': { kind: 'conflict', message: 'The terminal is decommissioned.' },
  'terminal.settings_superseded': { kind: 'conflict', message: 'A newer settings change of this terminal was sent instead.' },
  'batch.bad_header': { kind: 'translation', message: 'TMO refused the whole settings file (header or name).' },
  'batch.count_mismatch': { kind: 'translation', message: 'TMO refused the whole settings file (record count).' },
  'batch.hash_mismatch': { kind: 'translation', message: 'TMO refused the whole settings file (hash total).' },
  'batch.bad_layout': { kind: 'translation', message: 'TMO refused the whole settings file (layout).' },
  'batch.duplicate_name': { kind: 'translation', message: 'TMO refused the settings file as a duplicate name.' },
};

/** The stored problem of a refused change (translated reason only, never a legacy code). */
export function settingsError(reason: string): StoredError {
  const f = FAILURE[reason] ?? { kind: 'translation' as const, message: 'TMO refused the settings change.' };
  return { name: 'SettingsChangeError', kind: f.kind, code: reason, message: f.message, retryable: false, fields: [] };
}

function steps(change: Pick<ChangeSummary, 'resends' | 'acceptedAt' | 'reason'>, outcome: StepRecord['outcome'], now: string): StepRecord[] {
  return [
    {
      name: SETTINGS_FILE_STEP,
      system: 'tmo',
      outcome,
      attempts: change.resends + 1,
      startedAt: change.acceptedAt,
      finishedAt: outcome === 'running' ? null : now,
      lastErrorCode: outcome === 'failed' ? change.reason : null,
    },
  ];
}

export function runningSteps(acceptedAt: string): StepRecord[] {
  return [{ name: SETTINGS_FILE_STEP, system: 'tmo', outcome: 'running', attempts: 1, startedAt: acceptedAt, finishedAt: null, lastErrorCode: null }];
}

/**
 * The fields that close the operation of a change a newer one superseded, as `markFailed` would
 * write them; written by the accept script in the same step as the newer change.
 */
export function supersededOperationFields(change: Pick<ChangeSummary, 'acceptedAt' | 'resends'>, now: string): Record<string, string> {
  const reason = 'terminal.settings_superseded';
  return {
    status: 'failed',
    error: JSON.stringify(settingsError(reason)),
    steps: JSON.stringify(steps({ ...change, reason }, 'failed', now)),
    updatedAt: now,
  };
}

/**
 * Brings the operations of changes in a final state to their end: `succeeded` when applied,
 * `failed` with the translated reason otherwise, a dead letter when the change failed for good
 * (refused whole too often). Only operations still open are touched, so running it twice (an
 * answer processed again after a crash) changes nothing.
 */
export async function finishOperations(
  deps: { redis: Redis; keys: Keys; store: OperationStore; deadLetters: DeadLetters },
  changes: (ChangeSummary | null)[],
  now: string,
): Promise<{ succeeded: number; failed: number; deadLettered: string[] }> {
  const final = changes.filter((c): c is ChangeSummary => c !== null && c.state !== 'accepted' && c.state !== 'filed');
  const out = { succeeded: 0, failed: 0, deadLettered: [] as string[] };
  for (let i = 0; i < final.length; i += 1000) {
    const part = final.slice(i, i + 1000);
    const pipe = deps.redis.pipeline();
    for (const c of part) pipe.hget(deps.keys.operation(c.operationId), 'status');
    const statuses = ((await pipe.exec()) ?? []).map(([, s]) => s as string | null);
    const open = part.filter((_, j) => statuses[j] === 'running' || statuses[j] === 'queued');
    const applied = open.filter((c) => c.state === 'applied');
    await deps.store.markSucceededMany(
      applied.map((c) => ({
        id: c.operationId,
        resource: { type: 'terminal' as const, id: c.terminalId },
        steps: steps(c, 'succeeded', now),
      })),
    );
    out.succeeded += applied.length;
    // a refused change fails its operation (one pipeline per page); one failed for good is
    // dead-lettered first (park.ts): a crash in between leaves an open dead letter, never an unseen failure
    const refused = open.filter((c) => c.state !== 'applied');
    await Promise.all(
      refused
        .filter((c) => c.state === 'failed')
        .map(async (c) => {
          const op = await deps.store.get(c.operationId);
          if (op) await deps.deadLetters.record({ op, error: settingsError(c.reason ?? 'batch.bad_layout'), system: 'tmo', step: SETTINGS_FILE_STEP, reason: 'attempts_exhausted' });
          out.deadLettered.push(c.operationId);
        }),
    );
    await deps.store.markFailedMany(refused.map((c) => ({ id: c.operationId, error: settingsError(c.reason ?? 'batch.bad_layout'), steps: steps(c, 'failed', now) })));
    out.failed += refused.length;
  }
  return out;
}
