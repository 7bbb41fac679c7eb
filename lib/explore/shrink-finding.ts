// A finding made small: its first case shrunk by running simpler ones in the
// lab (shrink.ts), the shrunk case's evidence, and every era's trace of it.
import { explainCase } from '../explain.js';
import type { MachineFacts } from '../facts.js';
import { cycleDriftPages } from '../judge/accounting.js';
import { judge, type CaseVerdict } from '../judge/index.js';
import { ERAS, type EraId } from '../model/types.js';
import { findingCase, type CaseReport } from '../report/explore.js';
import type { Scenario } from '../scenarios/types.js';
import type { Finding } from './explore.js';
import {
  classify,
  erasPredicting,
  inPlaceSuspect,
  judgeInPlaceFailure,
  type Classified,
} from './findings.js';
import type { CommitWatch } from './global.js';
import { unpressured, type ExploreLab } from './labs.js';
import { shrinkScenario } from './shrink.js';

/** The cases of one signature, as the explore keeps them: the first one and how many. */
export interface Group {
  classified: Classified;
  first: Scenario;
  count: number;
  firstCase: CaseReport;
  verdict: string;
  reason: string;
}

/** Every era's trace of a scenario, from the model alone. */
function traces(s: Scenario, facts: MachineFacts): Finding['traces'] {
  return ERAS.map((era) => {
    try {
      return {
        era,
        text: explainCase(s, era, { maxMapCount: facts.maxMapCount, version: facts.version }).text,
      };
    } catch (err) {
      return { era, text: `the ${era} model cannot follow this case: ${(err as Error).message}\n` };
    }
  });
}

/** A finding as first seen: not shrunk (too many findings), or shrinking found nothing that shows it. */
export function unshrunk(g: Group, facts: MachineFacts): Finding {
  return {
    ...g.classified,
    count: g.count,
    first: g.first,
    scenario: g.first,
    shrink: null,
    verdict: g.verdict,
    reason: g.reason,
    eras: g.firstCase.matchingEras,
    case: g.firstCase,
    traces: traces(g.first, facts),
  };
}

/** Shrinks a finding's first case by running simpler ones in the lab. */
export async function shrinkFinding(
  g: Group,
  lab: ExploreLab,
  watch: CommitWatch,
  facts: MachineFacts,
  era: EraId,
  maxRuns: number,
): Promise<Finding> {
  const target = g.classified.signature;
  let last: { s: Scenario; v: CaseVerdict } | undefined;
  const shows = async (s: Scenario): Promise<CaseVerdict | undefined> => {
    const [r] = await lab.run([s]);
    let inPlace = false;
    if (inPlaceSuspect(s, r!)) {
      const [again] = await lab.run([unpressured(s)]);
      inPlace = again!.status === 'observed' && again!.obs.ret.ok;
    }
    let v = judge(r!, { facts, era });
    if (inPlace) v = judgeInPlaceFailure(v, r!, { facts, era });
    return classify(v, inPlace)?.signature === target ? v : undefined;
  };
  const holds = async (s: Scenario): Promise<boolean> => {
    // Cases the model predicts to leak stay out once the Committed_AS cap is near.
    if (!watch.admit([s], true).length) return false;
    const v = await shows(s);
    if (v) {
      watch.account(v.judged ? cycleDriftPages(v.judged.prediction, v.judged.run.placement) : 0);
      last = { s, v };
    }
    return v !== undefined;
  };
  const base = `${g.first.id.replace(/@[^@]*$/, '')}-min`;
  const r = await shrinkScenario(g.first, holds, { maxRuns, base });
  // The shrunk case must stand on a vouched map count: when the count
  // differs from the tracking, run it again from the count.
  if (last && Object.keys(lab.verify()).length) {
    const v = await shows(r.scenario);
    last = v ? { s: r.scenario, v } : undefined;
  }
  watch.read(lab.labs());
  const shrink = {
    runs: r.runs,
    steps: r.steps,
    reproduced: r.reproduced && last !== undefined,
    exhausted: r.exhausted,
  };
  if (!last) return { ...unshrunk(g, facts), shrink };
  const c = findingCase(r.scenario, last.v);
  return {
    ...g.classified,
    count: g.count,
    first: g.first,
    scenario: r.scenario,
    shrink,
    verdict: last.v.verdict,
    reason: last.v.reason,
    eras: erasPredicting(last.v),
    case: c,
    traces: traces(r.scenario, facts),
  };
}
