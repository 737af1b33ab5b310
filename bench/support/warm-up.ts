/**
 * The benches' warm-up rule (facade and queue): V8 optimizes a process's code over its first
 * seconds of load, and a measurement taken before that charges the process its JIT warm-up.
 * Runs `step` (one chunk of load like the measured one, answering the process's CPU per unit
 * of work) until at least `min` units are done, then on while the CPU still falls: it stops at
 * the first chunk that is not 10 % below every one before it, or once `max` units are done.
 * Answers each chunk's CPU per unit, for the bench to print.
 */
export async function warmUntilSettled(step: () => Promise<number>, o: { chunk: number; min: number; max: number }): Promise<number[]> {
  const curve: number[] = [];
  if (o.chunk <= 0) return curve;
  for (let done = o.chunk; ; done += o.chunk) {
    const perUnit = await step();
    const settled = curve.length > 0 && perUnit >= 0.9 * Math.min(...curve);
    curve.push(perUnit);
    if (done >= o.min && (settled || done >= o.max)) return curve;
  }
}
