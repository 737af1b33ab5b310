export * from './gateway-error.ts';
export { ValidationError } from './validation-error.ts';
export { NotFoundError } from './not-found-error.ts';
export { ConflictError } from './conflict-error.ts';
export { BusinessError } from './business-error.ts';
export { UnavailableError } from './unavailable-error.ts';
export { TimeoutError } from './timeout-error.ts';
export { TranslationError } from './translation-error.ts';
export { CorruptFileError } from './corrupt-file-error.ts';
