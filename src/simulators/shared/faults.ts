import { z } from 'zod';
import type { FaultConfig, FaultController } from '../types.ts';

/** mulberry32: a tiny deterministic PRNG, good enough for simulated jitter and ids. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const nonNegative = z.number().finite().nonnegative();

export const faultConfigSchema = z
  .object({
    latencyMs: z
      .union([
        nonNegative,
        z
          .object({ min: nonNegative, max: nonNegative })
          .strict()
          .refine((r) => r.min <= r.max, 'min must be <= max'),
      ])
      .optional(),
    faultRate: z.number().min(0).max(1).optional(),
    outage: z
      .object({ from: z.number().finite(), until: z.number().finite() })
      .strict()
      .nullable()
      .optional(),
    hangAfterApplyMs: nonNegative.optional(),
  })
  .strict();

function copy(cfg: FaultConfig): FaultConfig {
  const out: FaultConfig = {};
  if (cfg.latencyMs !== undefined) {
    out.latencyMs = typeof cfg.latencyMs === 'number' ? cfg.latencyMs : { ...cfg.latencyMs };
  }
  if (cfg.faultRate !== undefined) out.faultRate = cfg.faultRate;
  if (cfg.outage !== undefined) out.outage = cfg.outage === null ? null : { ...cfg.outage };
  if (cfg.hangAfterApplyMs !== undefined) out.hangAfterApplyMs = cfg.hangAfterApplyMs;
  return out;
}

/** Validates a FaultConfig; throws RangeError naming the first problem. */
export function parseFaultConfig(input: unknown): FaultConfig {
  const res = faultConfigSchema.safeParse(input);
  if (!res.success) {
    const issue = res.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'config';
    throw new RangeError(`invalid fault config: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return copy(res.data as FaultConfig);
}

/** The simulator side of a FaultController: the public controller plus the per-call decisions. */
export interface FaultEngine {
  controller: FaultController;
  /** True while an outage window covers `now`. */
  inOutage(now: number): boolean;
  /** Latency to add to this call (0 when none). */
  drawLatency(): number;
  /** True when this call must fail with a system failure. */
  drawFailure(): boolean;
  /** A fair coin from the same PRNG (TMO picks fault vs E901 with it). */
  coin(): boolean;
  hangAfterApplyMs(): number;
}

export function createFaultEngine(initial: FaultConfig | undefined, seed: number, now: () => number): FaultEngine {
  const rng = createRng(seed ^ 0x9e3779b9);
  let cfg: FaultConfig = parseFaultConfig(initial ?? {});
  const controller: FaultController = {
    set(next) {
      cfg = parseFaultConfig(next);
    },
    get() {
      return copy(cfg);
    },
    reset() {
      cfg = {};
    },
    outageFor(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError('outageFor: ms must be a non-negative number');
      const from = now();
      cfg = { ...copy(cfg), outage: { from, until: from + ms } };
    },
  };
  return {
    controller,
    inOutage(t) {
      const o = cfg.outage;
      return !!o && t >= o.from && t < o.until;
    },
    drawLatency() {
      const l = cfg.latencyMs;
      if (l === undefined) return 0;
      if (typeof l === 'number') return l;
      return l.min + (l.max - l.min) * rng();
    },
    drawFailure() {
      const r = cfg.faultRate ?? 0;
      if (r <= 0) return false;
      if (r >= 1) return true;
      return rng() < r;
    },
    coin() {
      return rng() < 0.5;
    },
    hangAfterApplyMs() {
      return cfg.hangAfterApplyMs ?? 0;
    },
  };
}
