import type { SettingsFileFormat } from '../../domain/terminal-settings.ts';
import { answerNames, parseAnswerName, parseTpuAnswer, tpuFileName, writeTpu } from '../../translators/batch/index.ts';

/** The TPU file format (BATCH.md §1–§2) behind the domain's `SettingsFileFormat`. */
export function createTpuFormat(): SettingsFileFormat {
  return {
    fileName: tpuFileName,
    answerNames,
    parseAnswerName,
    write: (id, records) => writeTpu(id, records),
    parseAnswer: parseTpuAnswer,
  };
}
