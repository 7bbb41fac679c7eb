// The lab children of an explore, seen as one: cases without pressure in a
// pool that is never filled, cases under pressure in one filled once.
import type { MachineFacts } from '../facts.js';
import type { CaseRun } from '../observation.js';
import { LabPool, watchLimit } from '../run/pool.js';
import type { Scenario } from '../scenarios/types.js';

/**
 * Two lab pools: one never filled, for cases without pressure (they drop
 * every filler), one filled once for the cases under pressure: one lab child
 * each, whatever capabilities the cases give up.
 */
export class ExploreLab {
  private readonly free: LabPool;
  private readonly pressured: LabPool;

  constructor(facts: MachineFacts, o: { maxFill?: number }) {
    const opts = {
      facts,
      ...(o.maxFill ? { maxFill: o.maxFill } : {}),
      limitChanged: watchLimit(facts.maxMapCount),
    };
    this.free = new LabPool(opts);
    this.pressured = new LabPool(opts);
  }

  /** Runs scenarios (each in the pool for its pressure), results in their order. */
  async run(scenarios: Scenario[], onCase?: (done: number) => void): Promise<CaseRun[]> {
    const out: CaseRun[] = new Array(scenarios.length);
    let done = 0;
    for (const [pool, pick] of [
      [this.free, unfilled],
      [this.pressured, (s: Scenario) => !unfilled(s)],
    ] as const) {
      const idx = scenarios.flatMap((s, i) => (pick(s) ? [i] : []));
      if (!idx.length) continue;
      const runs = await pool.runAll(
        idx.map((i) => scenarios[i]!),
        onCase ? (d) => onCase(done + d) : undefined,
      );
      done += idx.length;
      idx.forEach((i, k) => (out[i] = runs[k]!));
    }
    return out;
  }

  /**
   * Counts each lab's maps against the tracking (which starts again from
   * the count): why the counts of the cases without pressure, and of those
   * under pressure, cannot be vouched for, if they cannot.
   */
  verify(): { free?: string; pressured?: string } {
    const free = this.free.verifyTracking();
    const pressured = this.pressured.verifyTracking();
    return { ...(free ? { free } : {}), ...(pressured ? { pressured } : {}) };
  }

  /** The lab children alive now (one object each, new when a child is replaced). */
  labs(): object[] {
    return [...this.free.environments(), ...this.pressured.environments()];
  }

  close(): void {
    this.free.close();
    this.pressured.close();
  }
}

/** Cases without pressure run in the pool that is never filled. */
export const unfilled = (s: Scenario) => s.pressure === null;

/** The id a case gets when run again without pressure. */
export const unpressured = (s: Scenario): Scenario => ({
  ...s,
  id: `${s.id.replace(/@[^@]*$/, '')}@none`,
  pressure: null,
});
