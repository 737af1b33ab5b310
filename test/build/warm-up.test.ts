import { describe, expect, it } from 'vitest';
import { warmUntilSettled } from '../../bench/support/warm-up.ts';

/** A step that answers the given CPU figures in turn and counts its calls. */
function stepping(curve: number[]) {
  let i = 0;
  return { step: async () => curve[i++] ?? NaN, calls: () => i };
}

describe("the benches' warm-up rule (bench/support/warm-up.ts)", () => {
  it('when the CPU per unit stops falling after the minimum, then it stops at the first chunk not 10 % below all before', async () => {
    const s = stepping([4000, 2000, 1700, 1500, 1400, 1000, 990]);
    // min 3 chunks of 250: 1700 is more than 10 % below 2000 (goes on), 1500 too, 1400 is not below 1350
    expect(await warmUntilSettled(s.step, { chunk: 250, min: 750, max: 5000 })).toEqual([4000, 2000, 1700, 1500, 1400]);
    // exactly 10 % below is settled
    expect(await warmUntilSettled(stepping([2000, 1800, 1000]).step, { chunk: 1, min: 1, max: 10 })).toEqual([2000, 1800]);
  });

  it('when the CPU settles before the minimum, then it still runs the minimum', async () => {
    const s = stepping([1000, 1000, 1000, 1000]);
    expect(await warmUntilSettled(s.step, { chunk: 1, min: 3, max: 10 })).toHaveLength(3);
  });

  it('when the CPU keeps falling, then it stops at the maximum', async () => {
    const s = stepping([1000, 800, 600, 400, 200, 100, 50]);
    expect(await warmUntilSettled(s.step, { chunk: 2, min: 2, max: 8 })).toEqual([1000, 800, 600, 400]);
    expect(s.calls()).toBe(4);
  });

  it('when the chunk is empty (no warm-up asked), then nothing runs', async () => {
    const s = stepping([1]);
    expect(await warmUntilSettled(s.step, { chunk: 0, min: 0, max: 0 })).toEqual([]);
    expect(s.calls()).toBe(0);
  });
});
