// Global effects of an explore: from 6.15 a shrinking MREMAP_FIXED move of a
// private writable mapping leaks Committed_AS for good (the accounting
// invariant), so thousands of generated moves would leak it machine-wide.
// Committed_AS is read before, between batches and after, and reported. What
// decides is what the judging era's model predicts the run cases leaked: once
// that reaches half the cap, cases the model predicts to leak are left out.
// The measured drift cannot decide: Committed_AS is machine-wide, and on a
// busy machine other processes move it by hundreds of MiB either way; the
// prediction is the same for the same seed, so the same cases are left out.
import { explainCase } from '../explain.js';
import type { MachineFacts } from '../facts.js';
import { cycleDriftPages } from '../judge/accounting.js';
import type { EraId } from '../model/types.js';
import { committedKb } from '../run/accounting.js';
import type { Scenario } from '../scenarios/types.js';

export interface GlobalEffects {
  /** Committed_AS before the explore and after its lab children were gone, kB. */
  committedBeforeKb: number;
  committedAfterKb: number;
  /** After minus before: what the explore left behind, with what the rest of the machine did meanwhile. */
  driftKb: number;
  /**
   * The drift while the explore ran, summed over the readings between batches
   * with the same lab children alive (a new child is a fork of this process
   * and brings its own charge), kB.
   */
  runningDriftKb: number;
  /** What the judging era's model predicts the run cases leaked, kB. */
  predictedLeakKb: number;
  /** null with --allow-global-effects. */
  capKb: number | null;
  /** Generated cases left out because the model predicts they leak, once the cap was near. */
  leftOut: number;
  /** Shrink candidates left out for the same reason. */
  leftOutShrinking: number;
  /** When cases were first left out: the predicted leak then, kB; null if never. */
  nearAtKb: number | null;
}

export class CommitWatch {
  private readonly startKb = committedKb();
  private lastKb = this.startKb;
  private labs: readonly object[] = [];
  private runningKb = 0;
  private predictedPages = 0;
  private leftOut = 0;
  private leftOutShrinking = 0;
  private nearAtKb: number | null = null;

  constructor(
    private readonly facts: MachineFacts,
    private readonly era: EraId,
    /** null: no cap (--allow-global-effects). */
    private readonly capKb: number | null,
  ) {}

  private get pageKb(): number {
    return this.facts.pageSize / 1024;
  }

  /**
   * Reads Committed_AS between batches, with the lab children alive then
   * (any object that stands for each): the change since the last reading
   * counts only when they are the same children.
   */
  read(labs: readonly object[]): void {
    const now = committedKb();
    const same = labs.length === this.labs.length && labs.every((l, i) => l === this.labs[i]);
    if (same) this.runningKb += now - this.lastKb;
    this.lastKb = now;
    this.labs = [...labs];
  }

  /** The predicted leak so far, kB. */
  private estimateKb(): number {
    return this.predictedPages * this.pageKb;
  }

  /** Whether the cap is near: from then on, cases predicted to leak are left out. */
  near(): boolean {
    return this.capKb !== null && this.estimateKb() >= this.capKb / 2;
  }

  /** Drops the cases of a batch that the model predicts to leak, once the cap is near. */
  admit(batch: Scenario[], shrinking = false): Scenario[] {
    if (!this.near()) return batch;
    this.nearAtKb ??= this.estimateKb();
    return batch.filter((s) => {
      const leaks = predictedLeakPages(s, this.facts, this.era) > 0;
      if (leaks && shrinking) this.leftOutShrinking++;
      else if (leaks) this.leftOut++;
      return !leaks;
    });
  }

  /** Adds the pages the judging era's model says a case that ran leaked (cycleDriftPages). */
  account(pages: number): void {
    this.predictedPages += Math.max(0, pages);
  }

  /** The figures, read once more: call it after the lab children are gone. */
  result(): GlobalEffects {
    const after = committedKb();
    return {
      committedBeforeKb: this.startKb,
      committedAfterKb: after,
      driftKb: after - this.startKb,
      runningDriftKb: this.runningKb,
      predictedLeakKb: this.predictedPages * this.pageKb,
      capKb: this.capKb,
      leftOut: this.leftOut,
      leftOutShrinking: this.leftOutShrinking,
      nearAtKb: this.nearAtKb,
    };
  }
}

/**
 * Pages of Committed_AS one call of the scenario leaves charged after its
 * window is unmapped, as `era`'s model predicts it (`explain`'s view of the
 * case); 0 when the model cannot follow the case.
 */
export function predictedLeakPages(s: Scenario, facts: MachineFacts, era: EraId): number {
  try {
    const e = explainCase(s, era, {
      maxMapCount: facts.maxMapCount,
      version: facts.version,
      pageSize: facts.pageSize,
    });
    return cycleDriftPages(e.prediction, e.placement);
  } catch {
    return 0;
  }
}
