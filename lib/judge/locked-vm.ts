// locked-vm cases: a cycle of map, mlock, call and unmap must leave the
// process's locked_vm where it was. The lab reads VmLck before the layout and
// after the window is gone; each era's model says what its code leaves behind
// (docs/merges.md#dontunmap: MREMAP_DONTUNMAP of an mlocked VMA before the
// 2026 fix).
import type { Prediction } from '../model/types.js';
import type { ObservedRun } from '../observation.js';
import type { Placement } from '../placement.js';
import type { Difference } from './differences.js';
import type { CaseVerdict, InvariantReport, Judged } from './verdict.js';
import type { EraId } from '../model/types.js';

/** Pages of locked_vm a case leaves behind in the model: the prediction, then every range unmapped. */
export function lockedDriftPages(pred: Prediction, p: Placement, lockedAtCall: number): number {
  const s = pred.state.clone();
  for (const [a, b] of p.views) s.munmap(a, b, Number.MAX_SAFE_INTEGER);
  const layoutLocked = p.pieces
    .filter((x) => x.piece.mlock)
    .reduce((n, x) => n + x.end - x.start, 0);
  return s.lockedVm - (lockedAtCall - layoutLocked);
}

/** The measured drift, in pages. */
export function measuredLockedDrift(run: ObservedRun): number {
  const l = run.lockedVm!;
  return Math.round(((l.afterKb - l.beforeKb) * 1024) / run.placement.pageSize);
}

export function judgeLockedVm(
  j: Judged,
  drifts: Partial<Record<EraId, number>>,
  diffs: Difference[],
  base: Pick<CaseVerdict, 'matches'>,
): CaseVerdict {
  const drift = measuredLockedDrift(j.run);
  const kept = drift === 0;
  const predicted = drifts[j.era];
  const invariant: InvariantReport = {
    kind: 'locked-vm',
    kept,
    beforeKb: j.run.lockedVm!.beforeKb,
    afterKb: j.run.lockedVm!.afterKb,
    driftPages: drift,
    predictedDriftPages: drifts,
  };
  const agrees = diffs.length === 0 && predicted === drift;
  const numbers = `VmLck was ${invariant.beforeKb} kB before the layout and ${invariant.afterKb} kB once everything was unmapped: ${drift} page(s) left locked`;
  return {
    ...base,
    verdict: !kept ? 'fail:invariant' : agrees ? 'pass' : 'fail:model',
    reason: `${kept ? 'locked_vm kept' : 'locked_vm LEAK'}: ${numbers}; the ${j.era} model predicts ${predicted ?? '?'} page(s)${diffs.length ? `, and differs: ${diffs[0]!.kind}` : ''}`,
    judged: j,
    differences: diffs,
    invariant,
  };
}
