export * from './codes.ts';
export * from './customer.ts';
export * from './fields.ts';
