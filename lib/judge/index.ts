// The judge: one observed case against every era's model, and the verdict
// by the judging era (the kernel's by version, or the one --era names), with
// one judge per kind of case: moves by the model, in-place calls and
// accounting by their invariants.
import type { MachineFacts } from '../facts.js';
import { layoutState } from '../model/predict.js';
import { ERA_MERGES } from '../model/eras/index.js';
import { featureVersion, type EraId } from '../model/types.js';
import type { MergePolicy } from '../model/vmas.js';
import { caseStart, type CaseRun, type ObservedRun } from '../observation.js';
import { labelAt } from '../placement.js';
import { cycleDriftPages, judgeAccounting } from './accounting.js';
import { contractBreaches } from './contract.js';
import { describeDifference } from './differences.js';
import { predictEras } from './eras.js';
import { destroyedBetween, modelSnapshot } from './evidence.js';
import { judgeInPlace } from './in-place.js';
import { judgeLockedVm, lockedDriftPages, measuredLockedDrift } from './locked-vm.js';
import { judgeMove } from './move.js';
import type { CaseVerdict, Judged } from './verdict.js';

export * from './verdict.js';
export { eraByBehaviour, type EraScore } from './eras.js';

export interface JudgeOptions {
  facts: MachineFacts;
  /** The era whose model judges the case (the kernel's by version, or forced). */
  era: EraId;
}

/** What the judging era's prediction and the observation say was destroyed. */
function destruction(
  run: ObservedRun,
  j: Omit<Judged, 'destroyed' | 'predictedDestroyed'>,
  merges: MergePolicy,
) {
  const p = run.placement;
  const obs = run.obs;
  const label = (page: number) => labelAt(p, page);
  const destroyed = obs.ret.ok ? [] : destroyedBetween(obs.before, obs.after, label);
  const keys = [...obs.before.pages.keys()];
  const predictedDestroyed = j.prediction.ret.ok
    ? []
    : destroyedBetween(
        modelSnapshot(layoutState(p, caseStart(run), merges), p.views, keys),
        modelSnapshot(j.prediction.state, p.views, keys),
        label,
      );
  return { destroyed, predictedDestroyed };
}

export function judge(run: CaseRun, opts: JudgeOptions): CaseVerdict {
  if (run.status !== 'observed') {
    // skip and broken carry their reason; there is nothing to compare.
    return { verdict: run.status, reason: run.reason, differences: [], matches: {} };
  }
  const matches: Partial<Record<EraId, boolean>> = {};
  const drifts: Partial<Record<EraId, number>> = {};
  const outcomes = predictEras(run, opts.facts);
  for (const o of outcomes) {
    if ('error' in o) continue;
    matches[o.era] = o.differences.length === 0;
    if (run.accounting) {
      drifts[o.era] = cycleDriftPages(o.prediction, run.placement);
      matches[o.era] &&= drifts[o.era] === Math.round(run.accounting.driftPagesPerCycle);
    }
    if (run.lockedVm) {
      drifts[o.era] = lockedDriftPages(o.prediction, run.placement, run.inputs.lockedVm);
      matches[o.era] &&= drifts[o.era] === measuredLockedDrift(run);
    }
  }
  const mine = outcomes.find((o) => o.era === opts.era)!;
  if ('error' in mine) {
    return {
      verdict: 'broken',
      reason: `the model cannot predict this case: ${mine.error}`,
      differences: [],
      matches,
    };
  }
  const partial = { run, era: opts.era, prediction: mine.prediction };
  const merges = ERA_MERGES[opts.era](featureVersion(opts.era, opts.facts.version));
  const j: Judged = { ...partial, ...destruction(run, partial, merges) };
  const diffs = mine.differences;
  const words = diffs.map((d) => describeDifference(d, run.placement));
  const base = { matches };
  const breaches = contractBreaches(run);
  if (breaches.length) {
    return {
      ...base,
      verdict: 'fail:contract',
      reason: `succeeded but broke the contract of mremap(2): ${breaches[0]}; the ${opts.era} model ${diffs.length ? 'does not predict this' : 'predicts this too: a kernel bug of its era'}`,
      judged: j,
      differences: diffs,
    };
  }
  const invariant = run.placement.scenario.invariant;
  if (invariant === 'in-place') return judgeInPlace(j, diffs, words, opts.facts, base);
  if (invariant === 'accounting' && run.accounting) {
    return judgeAccounting(j, run.accounting, drifts, diffs, base);
  }
  if (invariant === 'locked-vm' && run.lockedVm) return judgeLockedVm(j, drifts, diffs, base);
  return judgeMove(j, diffs, words, base);
}
