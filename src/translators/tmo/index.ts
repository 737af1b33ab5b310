export * from './codes.ts';
export * from './fields.ts';
export * from './merchant.ts';
export * from './terminal.ts';
