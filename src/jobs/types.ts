import type { SerializedGatewayError } from '../domain/errors/index.ts';
import type { StatusChangeReason, TargetTerminalStatus } from '../domain/model.ts';
import type { TerminalSettings } from '../domain/terminal-settings.ts';
import type { MerchantPatch, NewMerchant, NewPartner, NewTerminalOrder } from '../domain/services/types.ts';

/** Every write the gateway accepts is one of these operation kinds. */
export const OPERATION_KINDS = [
  'merchant.onboard',
  'merchant.update',
  'partner.create',
  'terminal.order',
  'terminal.status',
  'terminal.settings',
] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

export type OperationStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** The legacy systems a job can wait for; the retry policy has one row per system. */
export const LEGACY_SYSTEMS = ['tmo', 'crm'] as const;
export type LegacySystem = (typeof LEGACY_SYSTEMS)[number];

export function isLegacySystem(v: unknown): v is LegacySystem {
  return typeof v === 'string' && (LEGACY_SYSTEMS as readonly string[]).includes(v);
}

/** Input of each operation kind, exactly what the API validated (IBAN in clear in memory only). */
export interface OperationInputs {
  'merchant.onboard': NewMerchant;
  'merchant.update': { merchantId: string; patch: MerchantPatch };
  'partner.create': NewPartner;
  'terminal.order': { merchantId: string; order: NewTerminalOrder };
  'terminal.status': { terminalId: string; status: TargetTerminalStatus; reason: StatusChangeReason };
  /** applied by the nightly settings file (src/jobs/batch), never by a queue job */
  'terminal.settings': { terminalId: string; tmoMerchantId: string; settings: TerminalSettings };
}

export type ResourceType = 'merchant' | 'partner' | 'terminal';

/** The resource an operation produced, in domain terms (the API turns it into a URL). */
export interface ResourceRef {
  type: ResourceType;
  id: string;
}

export type StepOutcome = 'pending' | 'running' | 'succeeded' | 'failed';

export interface StepRecord {
  /** `<system>.<port method>`, e.g. `crm.createCustomer` */
  name: string;
  system: LegacySystem;
  outcome: StepOutcome;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  /** error code of the last failure of this step */
  lastErrorCode: string | null;
}

/**
 * A failure as kept in Redis and shown to callers: the gateway error's data with a
 * sanitized message, never the cause chain (it may hold legacy text or secrets).
 */
export type StoredError = SerializedGatewayError;

/** What `GET /v1/operations/{id}` shows. No HTTP status codes here: the API maps `problem.kind`. */
export interface OperationView {
  id: string;
  kind: OperationKind;
  status: OperationStatus;
  createdAt: string;
  updatedAt: string;
  /** number of runs (inline or by a worker) that started */
  attempts: number;
  steps: StepRecord[];
  resource: ResourceRef | null;
  problem: OperationProblem | null;
}

/** Why an operation failed, in domain terms: the API maps it to problem details (type, title, status). */
export interface OperationProblem {
  code: string;
  kind: StoredError['kind'];
  detail: string;
  retryable: boolean;
  errors?: { field: string; reason: string }[];
}

/** Who asked for the write; travels with the operation for the audit and the read check. */
export interface SubmitContext {
  requestId: string;
  /** the principal's subject */
  principal: string;
  /** the client sent `Prefer: respond-async` */
  preferAsync: boolean;
  /**
   * The operation id bound to the request's Idempotency-Key. When an operation with this id
   * exists (a resend after the first request's process died), `submit` resumes it instead of
   * starting another.
   */
  operationId?: string;
}

export type SubmitResult =
  /** applied now: `created` tells a new resource from an existing or changed one */
  | { outcome: 'completed'; created: boolean; body: unknown; resource: ResourceRef }
  | { outcome: 'accepted'; operationId: string };

/** Data of a BullMQ job: references only, the (sealed) input lives in the operation record. */
export interface OperationJobData {
  operationId: string;
  kind: OperationKind;
  /** request id of the accepting request, sent to the legacy systems as X-Request-Id */
  requestId: string;
  /** W3C `traceparent` of the span that enqueued it (tracing on only; see tracing.ts) */
  traceparent?: string;
}
