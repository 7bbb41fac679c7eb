// Accounting cases: mremap must change Committed_AS by exactly the charged
// pages it leaves mapped, so that cycles of map, call and unmap leave it
// where it was. The drift measured in the lab child decides.
import type { EraId, Prediction } from '../model/types.js';
import type { AccountingMeasure } from '../observation.js';
import type { Placement } from '../placement.js';
import type { Difference } from './differences.js';
import type { VmaView } from './evidence.js';
import type { CaseVerdict, InvariantReport, Judged } from './verdict.js';

/** Committed_AS tolerance after the child exits, for what the rest of the machine does meanwhile. */
const EXIT_TOLERANCE_KB = 8192;

/** Committed_AS drift (pages) that one cycle leaves: the prediction, then the window unmapped. */
export function cycleDriftPages(pred: Prediction, p: Placement): number {
  const s = pred.state.clone();
  s.munmap(p.window, p.window + p.windowPages, Number.MAX_SAFE_INTEGER);
  return s.committed;
}

/** Pages that are charged (private writable) in a VMA list. */
function chargedPages(v: VmaView[]): number {
  return v.filter((x) => x.perms === 'rw-p').reduce((n, x) => n + x.end - x.start, 0);
}

export function judgeAccounting(
  j: Judged,
  a: AccountingMeasure,
  drifts: Partial<Record<EraId, number>>,
  diffs: Difference[],
  base: Pick<CaseVerdict, 'matches'>,
): CaseVerdict {
  const obs = j.run.obs;
  const P = j.run.placement.pageSize;
  const drift = a.driftPagesPerCycle;
  // The drift, measured in the child between tight readings and taken as the
  // median over the cycles, decides. What stays after the child exits is read
  // machine-wide, where any other process (a VM starting, say) moves it by
  // far more than a page: it is evidence, checked against the drift.
  const kept = Math.abs(drift) < 0.5;
  const pageKb = P / 1024;
  const chargedChangeKb = (chargedPages(obs.after.vmas) - chargedPages(obs.before.vmas)) * pageKb;
  const invariant: InvariantReport = {
    kind: 'accounting',
    kept,
    iterations: a.iterations,
    controlDeltaKb: a.controlDeltaKb,
    testDeltaKb: a.testDeltaKb,
    driftPagesPerCycle: drift,
    chargedChangeKb,
    oneCycleKb: a.oneCycleKb,
    exitResidualKb: a.exitResidualKb,
    exitConsistent:
      // The cycles and the first, observed call each leave the drift behind.
      Math.abs(a.exitResidualKb - drift * pageKb * (a.iterations + 1)) <= EXIT_TOLERANCE_KB,
    predictedDriftPages: drifts,
  };
  const predicted = drifts[j.era];
  const model = `the ${j.era} model predicts ${predicted ?? '?'} page(s) per cycle`;
  const numbers =
    `Committed_AS moved ${a.testDeltaKb} kB over ${a.iterations} cycles (control ${a.controlDeltaKb} kB): ` +
    `${drift} page(s) per cycle; one call changed it by ${a.oneCycleKb.called - a.oneCycleKb.mapped} kB where the charged pages it leaves mapped changed by ${chargedChangeKb} kB; ` +
    `${a.exitResidualKb} kB stayed after the child exited`;
  // Accounts kept but not as the judging era's model says: a departure from the model.
  const modelAgrees = diffs.length === 0 && predicted === Math.round(drift);
  return {
    ...base,
    verdict: !kept ? 'fail:invariant' : modelAgrees ? 'pass' : 'fail:model',
    reason: `${kept ? 'accounts kept' : 'LEAK'}: ${numbers}; ${model}`,
    judged: j,
    differences: diffs,
    invariant,
  };
}
