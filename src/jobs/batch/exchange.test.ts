import { readdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { batchHarness, type BatchHarness } from './test-support/harness.ts';

const redisUrl = inject('redisUrl');
let h: BatchHarness;
afterEach(async () => {
  await h.close();
});

const ls = async (dir: string) => (await readdir(join(h.root, dir))).sort();
const opStatus = async (id: string) => (await h.operations.get(id))?.status;

describe('settings exchange (BATCH.md §1–§2 over a local folder, TMO simulated)', () => {
  it('when changes are accepted, exported and acknowledged, then the latest per terminal is applied once and the operations succeed', async () => {
    h = await batchHarness(redisUrl);
    const [a, b] = h.seedTerminals(2) as [string, string];
    const older = await h.put(a, { receiptLines: ['first', ''] });
    const newer = await h.put(a, { receiptLines: ['Caffè Roma', 'second'] });
    const other = await h.put(b, { tipping: false, language: 'de' });
    expect(await opStatus(older)).toBe('failed'); // superseded: never sent
    expect((await h.operations.get(older))?.problem?.code).toBe('terminal.settings_superseded');
    expect((await h.batch.settings.view(a))?.pendingChange).toMatchObject({ operationId: newer, state: 'accepted', file: null });

    const r = await h.batch.exchange.exportNow();
    expect(r).toMatchObject({ outcome: 'sent', records: 2 });
    const name = r.outcome === 'sent' ? r.file : '';
    expect(name).toMatch(/^TPU_\d{8}_001\.DAT$/);
    expect(await ls('inbox')).toEqual([name]);
    expect((await h.batch.settings.view(a))?.pendingChange).toMatchObject({ state: 'sent', file: { name, recordNo: 1 } });
    expect(await opStatus(newer)).toBe('running');

    await h.tmoBatch.processInbox();
    const answers = await h.batch.exchange.processAnswers();
    expect(answers?.processed).toEqual([{ name: name.replace('.DAT', '.ACK'), kind: 'ack' }]);
    expect(await opStatus(newer)).toBe('succeeded');
    expect(await opStatus(other)).toBe('succeeded');
    expect(h.tmo.settingsApplications(a).map((x) => x.settings.RECEIPT_LINE_1)).toEqual(['CAFFE ROMA']);
    expect(h.tmo.settingsApplicationCount()).toBe(2);
    const view = await h.batch.settings.view(a);
    expect(view?.applied?.settings.receiptLines).toEqual(['Caffè Roma', 'second']);
    expect(view?.pendingChange).toMatchObject({ state: 'applied', reason: null });
    expect(await h.batch.ledger.get(name)).toMatchObject({ state: 'acknowledged', applied: 2, rejected: 0, records: 2 });
    expect(await ls('outbox/archive')).toEqual([name.replace('.DAT', '.ACK')]);
    expect(await h.batch.exchange.exportNow()).toEqual({ outcome: 'nothing_pending' });
  });

  it('when the same answer is processed twice, then nothing changes and the archive keeps both copies under distinct names', async () => {
    h = await batchHarness(redisUrl);
    const [a] = h.seedTerminals(1) as [string];
    await h.put(a);
    const r = await h.batch.exchange.exportNow();
    const name = r.outcome === 'sent' ? r.file : '';
    await h.tmoBatch.processInbox();
    const ack = name.replace('.DAT', '.ACK');
    await copyFile(join(h.root, 'outbox', ack), join(h.root, `${ack}.copy`));
    await h.batch.exchange.processAnswers();
    const before = { file: await h.batch.ledger.get(name), view: await h.batch.settings.view(a) };
    await copyFile(join(h.root, `${ack}.copy`), join(h.root, 'outbox', ack));
    await h.batch.exchange.processAnswers();
    expect(await h.batch.ledger.get(name)).toEqual(before.file);
    expect(await h.batch.settings.view(a)).toEqual(before.view);
    expect(await ls('outbox/archive')).toEqual([ack, `${ack}.1`]);
    expect(h.tmo.settingsApplicationCount()).toBe(1);
  });

  it('when TMO rejects records, then each operation fails with the translated reason and the last applied settings stay', async () => {
    h = await batchHarness(redisUrl);
    const [a, b] = h.seedTerminals(2) as [string, string];
    const okOp = await h.put(a);
    const dcOp = await h.put(b);
    const live = h.tmo.liveTerminal(b);
    if (live) live.STATUS = 'DC'; // decommissioned after the change was accepted
    await h.batch.exchange.exportNow();
    await h.tmoBatch.processInbox();
    await h.batch.exchange.processAnswers();
    expect(await opStatus(okOp)).toBe('succeeded');
    const failed = await h.operations.get(dcOp);
    expect(failed).toMatchObject({ status: 'failed', problem: { code: 'terminal.decommissioned', kind: 'conflict' } });
    expect(JSON.stringify(failed)).not.toMatch(/R303/);
    const view = await h.batch.settings.view(b);
    expect(view).toMatchObject({ applied: null, pendingChange: { state: 'rejected', reason: 'terminal.decommissioned' } });
  });

  it('when TMO refuses a file whole (NAK), then its changes go out again under a new name, and after the allowed resends they are dead letters', async () => {
    h = await batchHarness(redisUrl, { config: { nakMaxResends: 1 } });
    const [a] = h.seedTerminals(1) as [string];
    const op = await h.put(a);
    const nak = async (name: string) => {
      await writeFile(join(h.root, 'outbox', name.replace('.DAT', '.NAK')), `F003${' '.repeat(36)}\r\n`);
      await h.batch.exchange.processAnswers();
    };
    const first = await h.batch.exchange.exportNow();
    const name1 = first.outcome === 'sent' ? first.file : '';
    await nak(name1);
    expect(await h.batch.ledger.get(name1)).toMatchObject({ state: 'refused', reason: 'batch.hash_mismatch' });
    expect(await opStatus(op)).toBe('running');
    expect((await h.batch.settings.view(a))?.pendingChange?.state).toBe('accepted');

    const second = await h.batch.exchange.exportNow();
    const name2 = second.outcome === 'sent' ? second.file : '';
    expect(name2).not.toBe(name1);
    expect(name2).toMatch(/_002\.DAT$/);
    await nak(name2);
    expect(await h.operations.get(op)).toMatchObject({ status: 'failed', problem: { code: 'batch.hash_mismatch' } });
    expect(await h.operations.deadLetters.get(op)).toMatchObject({ state: 'open', errorCode: 'batch.hash_mismatch', kind: 'terminal.settings' });
    expect(await h.batch.exchange.exportNow()).toEqual({ outcome: 'nothing_pending' });
  });

  it('when a DUP arrives, then the open changes are dead-lettered and the first answer (an ACK later) stays the truth', async () => {
    h = await batchHarness(redisUrl);
    const [a] = h.seedTerminals(1) as [string];
    const op = await h.put(a);
    const r = await h.batch.exchange.exportNow();
    const name = r.outcome === 'sent' ? r.file : '';
    await writeFile(join(h.root, 'outbox', name.replace('.DAT', '.DUP')), `F004${' '.repeat(36)}\r\n`);
    await h.batch.exchange.processAnswers();
    expect(await h.operations.deadLetters.get(op)).toMatchObject({ state: 'open', errorCode: 'batch.duplicate_name' });
    expect((await h.batch.ledger.get(name))?.duplicateAt).not.toBeNull();
    expect((await h.batch.ledger.get(name))?.state).toBe('sent');
    await h.tmoBatch.processInbox();
    await h.batch.exchange.processAnswers();
    expect(await opStatus(op)).toBe('succeeded');
    expect((await h.operations.deadLetters.get(op))?.state).toBe('resolved');
  });

  it('when an answer breaks the layout, then nothing is applied, it moves to /outbox/error and the file names the reason', async () => {
    h = await batchHarness(redisUrl);
    const [a] = h.seedTerminals(1) as [string];
    const op = await h.put(a);
    const r = await h.batch.exchange.exportNow();
    const name = r.outcome === 'sent' ? r.file : '';
    const ack = name.replace('.DAT', '.ACK');
    await writeFile(join(h.root, 'outbox', ack), `H${name}20261128\r\n`);
    const res = await h.batch.exchange.processAnswers();
    expect(res?.processed).toEqual([{ name: ack, kind: 'invalid' }]);
    expect(await ls('outbox/error')).toEqual([ack]);
    expect((await h.batch.ledger.get(name))?.answerError).toMatch(/record length/);
    expect(await opStatus(op)).toBe('running');
  });

  it('when an ACK names a terminal the record does not hold, then it is refused, never guessed', async () => {
    h = await batchHarness(redisUrl);
    const [a] = h.seedTerminals(1) as [string];
    const op = await h.put(a);
    const r = await h.batch.exchange.exportNow();
    const name = r.outcome === 'sent' ? r.file : '';
    const rec = (s: string) => `${s.padEnd(40)}\r\n`;
    await writeFile(join(h.root, 'outbox', name.replace('.DAT', '.ACK')), rec(`H${name}20261128`) + rec('D000001ZZZZZZZZ0000') + rec('T000001000000'));
    await h.batch.exchange.processAnswers();
    expect((await h.batch.ledger.get(name))?.answerError).toMatch(/names terminal ZZZZZZZZ/);
    expect(await opStatus(op)).toBe('running');
  });

  it('when no answer comes within BATCH_ANSWER_OVERDUE_MS, then the file shows overdue', async () => {
    h = await batchHarness(redisUrl, { config: { answerOverdueMs: 0 } });
    const [a] = h.seedTerminals(1) as [string];
    await h.put(a);
    const r = await h.batch.exchange.exportNow();
    await new Promise((res) => setTimeout(res, 5));
    const res = await h.batch.exchange.processAnswers();
    expect(res?.overdue).toEqual([r.outcome === 'sent' ? r.file : '?']);
  });

  it('when a change arrives for a terminal whose change is in flight, then both go out in order and the newer one ends applied', async () => {
    h = await batchHarness(redisUrl);
    const [a] = h.seedTerminals(1) as [string];
    const first = await h.put(a, { receiptLines: ['ONE', ''] });
    await h.batch.exchange.exportNow();
    const second = await h.put(a, { receiptLines: ['TWO', ''] });
    await h.batch.exchange.exportNow();
    await h.tmoBatch.processInbox();
    await h.batch.exchange.processAnswers();
    expect([await opStatus(first), await opStatus(second)]).toEqual(['succeeded', 'succeeded']);
    expect((await h.batch.settings.view(a))?.applied?.settings.receiptLines).toEqual(['TWO', '']);
  });

  it('when another process holds the exchange, then an export answers busy', async () => {
    h = await batchHarness(redisUrl);
    const [a] = h.seedTerminals(1) as [string];
    await h.put(a);
    const [x, y] = await Promise.all([h.batch.exchange.exportNow(), h.batch.exchange.exportNow()]);
    expect([x.outcome, y.outcome].sort()).toEqual(['busy', 'sent']);
    const answer = await readFile(join(h.root, 'inbox', (await ls('inbox'))[0] ?? ''), 'latin1');
    expect(answer.split('\r\n')).toHaveLength(4); // header, one detail, trailer, ''
  });
});
