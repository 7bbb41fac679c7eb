// The verdict of one case and what it rests on. Types and small helpers
// shared by the judges of each kind of case.
import type { EraId, Prediction } from '../model/types.js';
import type { ObservedRun } from '../observation.js';
import type { Difference } from './differences.js';
import type { Destroyed } from './evidence.js';

export const VERDICTS = [
  'pass',
  'fail:destroyed',
  'fail:model',
  'fail:invariant',
  'fail:contract',
  'skip',
  'broken',
] as const;
export type Verdict = (typeof VERDICTS)[number];

/** What an invariant case measured, and what the era models say of it. */
export type InvariantReport =
  | {
      kind: 'in-place';
      kept: boolean;
      errno: string | null;
      mapCountBefore: number;
      /** mapCountBefore - vm.max_map_count. */
      offset: number;
    }
  | {
      kind: 'accounting';
      kept: boolean;
      iterations: number;
      controlDeltaKb: number;
      testDeltaKb: number;
      driftPagesPerCycle: number;
      /** The change in charged (private writable) pages the call leaves mapped, in kB, from the VMAs. */
      chargedChangeKb: number;
      oneCycleKb: { mapped: number; called: number; unmapped: number };
      exitResidualKb: number;
      /** What stayed after the exit is what the drift says should (within the noise of the machine). */
      exitConsistent: boolean;
      /** Drift per cycle each era's model predicts, in pages. */
      predictedDriftPages: Partial<Record<EraId, number>>;
    }
  | {
      kind: 'locked-vm';
      kept: boolean;
      /** The lab child's VmLck before the layout and after the window was unmapped. */
      beforeKb: number;
      afterKb: number;
      /** Pages left locked. */
      driftPages: number;
      /** Pages each era's model leaves locked. */
      predictedDriftPages: Partial<Record<EraId, number>>;
    };

/** The observation and the judging era's prediction behind a verdict. */
export interface Judged {
  run: ObservedRun;
  era: EraId;
  prediction: Prediction;
  /** What the call destroyed when it returned an error: as observed, and as the era's model predicts. */
  destroyed: Destroyed[];
  predictedDestroyed: Destroyed[];
}

export interface CaseVerdict {
  verdict: Verdict;
  reason: string;
  /** Present when the case ran and the judging era's model could follow it. */
  judged?: Judged;
  /** Where the observation departs from the judging era's prediction. */
  differences: Difference[];
  /** For fail:destroyed: the era's model predicted the loss too. */
  predictedDestruction?: boolean;
  /** Era id -> this case matched that era's prediction. */
  matches: Partial<Record<EraId, boolean>>;
  invariant?: InvariantReport;
}

export function offsetWord(k: number): string {
  return k === 0 ? 'M' : k > 0 ? `M+${k}` : `M${k}`;
}
