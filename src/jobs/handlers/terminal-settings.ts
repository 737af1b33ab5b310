import { BusinessError } from '../../domain/errors/index.ts';
import type { NoProgress, OperationHandler } from './types.ts';

/** The one step of a settings change: TMO applies it from the nightly file (src/jobs/batch). */
export const SETTINGS_FILE_STEP = 'tmo.settingsFile';

/**
 * Settings changes travel in the nightly file, not through the queues: this handler only runs
 * when an operator retries a dead-lettered change from the queue console or the dead-letter API,
 * and then it refuses (not retryable), since resending would bypass the file's ledger. The way to
 * retry is a new `PUT /v1/terminals/{id}/settings` (DECISIONS.md "Terminal settings by file").
 */
export const terminalSettings: OperationHandler<'terminal.settings', NoProgress> = {
  kind: 'terminal.settings',
  steps: [{ name: SETTINGS_FILE_STEP, system: 'tmo', done: () => false }],
  async run() {
    throw new BusinessError('terminal.settings_resubmit_required', 'A settings change is sent by file only: send the settings again with PUT.');
  },
};
