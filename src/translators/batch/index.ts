export * from './answers.ts';
export * from './tpu.ts';
