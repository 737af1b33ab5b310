import { ConflictError } from '../../domain/errors/index.ts';
import type { Services } from '../../domain/services/types.ts';
import type { TerminalSettings } from '../../domain/terminal-settings.ts';
import type { Keys } from '../keys.ts';
import { newOperationId, operationFields, type OperationStore } from '../operation-store.ts';
import { sealPayload, type PayloadCipher } from '../payload.ts';
import type { DeadLetters } from '../dead-letters.ts';
import type { SubmitContext } from '../types.ts';
import type { Redis } from 'ioredis';
import { runningSteps, supersededOperationFields } from './operations.ts';
import type { BatchStore, ChangeRecord, FileRecord } from './store.ts';

/** The state of a change as the API shows it. */
export type ChangeViewState = 'accepted' | 'sent' | 'applied' | 'rejected' | 'superseded';

export interface TerminalSettingsView {
  terminalId: string;
  /** what TMO applied last, as known from its answers; null when no change was ever applied */
  applied: { settings: TerminalSettings; appliedAt: string; operationId: string } | null;
  /** the terminal's latest change and where it is */
  pendingChange: {
    operationId: string;
    state: ChangeViewState;
    settings: TerminalSettings;
    acceptedAt: string;
    updatedAt: string;
    file: { name: string; recordNo: number } | null;
    reason: string | null;
  } | null;
}

function viewState(c: ChangeRecord, file: FileRecord | null): ChangeViewState {
  switch (c.state) {
    case 'accepted':
      return 'accepted';
    case 'filed':
      // in the ledger, but not in TMO's inbox until the rename
      return file && file.state !== 'uploading' && file.state !== 'abandoned' ? 'sent' : 'accepted';
    case 'applied':
      return 'applied';
    case 'superseded':
      return 'superseded';
    case 'rejected':
    case 'failed':
      return 'rejected';
  }
}

/**
 * Terminal settings as a resource: a `PUT` is validated against TMO (the terminal exists and is
 * not decommissioned), recorded as an operation that stays `running` until TMO's answer, and
 * queued as its terminal's pending change for the next file.
 */
export function createTerminalSettings(deps: {
  services: Services;
  store: BatchStore;
  redis: Redis;
  operationKeys: Keys;
  operationStore: OperationStore;
  deadLetters: DeadLetters;
  cipher: PayloadCipher;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());

  return {
    async submit(terminalId: string, settings: TerminalSettings, ctx: SubmitContext): Promise<{ operationId: string }> {
      const terminal = await deps.services.terminals.get(terminalId, { requestId: ctx.requestId });
      if (terminal.status === 'decommissioned') {
        throw new ConflictError('terminal.decommissioned', 'The terminal is decommissioned: its settings cannot change.');
      }
      const id = newOperationId();
      const at = now().toISOString();
      const input = { terminalId, tmoMerchantId: terminal.tmoMerchantId, settings };
      // The operation record, the change and the superseded change's operation end are written
      // in one atomic step: a crash leaves either all of them or none (the client, which got no
      // 202, sends again), never a running operation without its change.
      await deps.store.accept({ operationId: id, ...input }, at, {
        operation: {
          key: deps.operationKeys.operation(id),
          fields: operationFields({
            id,
            kind: 'terminal.settings',
            status: 'running',
            createdAt: at,
            principal: ctx.principal,
            requestId: ctx.requestId,
            input: sealPayload(input, deps.cipher),
            progress: {},
            steps: runningSteps(at),
            resource: null,
            error: null,
            attempts: 1,
            run: 0,
          }),
        },
        closeSuperseded: (old) => ({ key: deps.operationKeys.operation(old.operationId), fields: supersededOperationFields(old, at) }),
      });
      return { operationId: id };
    },

    /** null when nothing was ever recorded for the terminal (the caller checks it exists). */
    async view(terminalId: string): Promise<TerminalSettingsView | null> {
      const t = await deps.store.terminal(terminalId);
      if (!t.applied && !t.latestOperationId) return null;
      const latest = t.latestOperationId ? await deps.store.getChange(t.latestOperationId) : null;
      const file = latest?.file ? await deps.store.getFile(latest.file) : null;
      return {
        terminalId,
        applied: t.applied ? { settings: t.applied.settings, appliedAt: t.applied.appliedAt, operationId: t.applied.operationId } : null,
        pendingChange: latest
          ? {
              operationId: latest.operationId,
              state: viewState(latest, file),
              settings: latest.settings,
              acceptedAt: latest.acceptedAt,
              updatedAt: latest.updatedAt,
              file: latest.file && latest.recordNo !== null && viewState(latest, file) !== 'accepted' ? { name: latest.file, recordNo: latest.recordNo } : null,
              reason: latest.reason,
            }
          : null,
      };
    },
  };
}

export type TerminalSettingsResource = ReturnType<typeof createTerminalSettings>;
