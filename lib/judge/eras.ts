// Every era's model on one observed case, and which era's model a kernel's
// observations match best.
import type { MachineFacts } from '../facts.js';
import { predict } from '../model/predict.js';
import {
  ERAS,
  featureVersion,
  type EraId,
  type ModelEnv,
  type Prediction,
} from '../model/types.js';
import { caseStart, type CaseInputs, type ObservedRun } from '../observation.js';
import { differences, type Difference } from './differences.js';

/** The environment the model of `era` runs a case in. */
export function modelEnv(facts: MachineFacts, inputs: CaseInputs, era: EraId): ModelEnv {
  return {
    maxMapCount: facts.maxMapCount,
    version: featureVersion(era, facts.version),
    pageSize: facts.pageSize,
    rlimitAs: inputs.rlimitAs,
    rlimitData: inputs.rlimitData,
    rlimitMemlock: inputs.rlimitMemlock,
    capIpcLock: inputs.capIpcLock,
    capSysRawio: inputs.capSysRawio,
    mmapMinAddr: facts.mmapMinAddr,
    overcommit: facts.overcommit,
    taskSize: facts.taskSizePages,
  };
}

/** One era's prediction for an observed case, with where they differ; or why the model could not follow it. */
export type EraOutcome =
  { era: EraId; prediction: Prediction; differences: Difference[] } | { era: EraId; error: string };

export function predictEra(run: ObservedRun, era: EraId, facts: MachineFacts): EraOutcome {
  try {
    const prediction = predict(run.placement, caseStart(run), era, {
      ...modelEnv(facts, run.inputs, era),
      window: run.placement.window,
      picked: run.placement.picked,
    });
    return { era, prediction, differences: differences(run.placement, run.obs, prediction) };
  } catch (err) {
    return { era, error: (err as Error).message };
  }
}

export function predictEras(run: ObservedRun, facts: MachineFacts): EraOutcome[] {
  return ERAS.map((era) => predictEra(run, era, facts));
}

export interface EraScore {
  matched: number;
  of: number;
}

/** Adds one case's matches to per-era scores. */
export function addScores(
  scores: Record<EraId, EraScore>,
  m: Partial<Record<EraId, boolean>>,
): void {
  for (const era of ERAS) {
    const one = m[era];
    if (one === undefined) continue;
    scores[era].of++;
    if (one) scores[era].matched++;
  }
}

export function emptyScores(): Record<EraId, EraScore> {
  return Object.fromEntries(ERAS.map((e) => [e, { matched: 0, of: 0 }])) as Record<EraId, EraScore>;
}

/** The era with the best score (the version's among equals); ties list every best era. */
export function bestEra(
  scores: Record<EraId, EraScore>,
  byVersion: EraId,
): { best: EraId | null; tied: EraId[]; scores: Record<EraId, EraScore> } {
  const top = Math.max(...ERAS.map((e) => scores[e].matched));
  const tied = ERAS.filter((e) => scores[e].matched === top && scores[e].of > 0);
  const best = tied.length === 0 ? null : tied.includes(byVersion) ? byVersion : tied.at(-1)!;
  return { best, tied, scores };
}

/** Which era's model the observations match best; ties list every best era. */
export function eraByBehaviour(
  matches: Partial<Record<EraId, boolean>>[],
  byVersion: EraId,
): { best: EraId | null; tied: EraId[]; scores: Record<EraId, EraScore> } {
  const scores = emptyScores();
  for (const m of matches) addScores(scores, m);
  return bestEra(scores, byVersion);
}
