// Observation against prediction: the verdict of each case, and which era's
// model the kernel's behaviour matches best. Pure functions.
import {
  destroyedBetween,
  modelVmaViews,
  pageRuns,
  pageWord,
  type Destroyed,
  type PageRun,
  type PageWord,
  type VmaView,
} from './evidence.js';
import { layoutState, predict, type PlacedCase } from './model/predict.js';
import { ERAS, type EraId, type Prediction, type Step } from './model/types.js';
import type { VmaSet } from './model/vmas.js';
import {
  ACCOUNTING_DETAIL,
  modelEnv,
  type CaseInputs,
  type CaseRun,
  type MachineFacts,
  type Observation,
} from './runner.js';

export const VERDICTS = [
  'pass',
  'fail:destroyed',
  'fail:model',
  'fail:invariant',
  'skip',
  'broken',
] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface VmaJson {
  start: string;
  end: string;
  perms: string;
}
export interface PageRunJson {
  start: string;
  end: string;
  state: string;
}
export interface DestroyedJson {
  what: Destroyed['what'];
  start: string;
  end: string;
  pages: number;
  pieces: string[];
}

export interface Expected {
  era: EraId;
  errno: string | null;
  return: string | null;
  mapCountAfter: number;
  vmas: VmaJson[];
  pages: PageRunJson[];
  destroyed: DestroyedJson[];
  trace: Step[];
}

export interface Observed {
  errno: string | null;
  return: string | null;
  mapCountBefore: number;
  mapCountAfter: number;
  mapCountMethod: Observation['mapCountMethod'];
  vmasBefore: VmaJson[];
  vmasAfter: VmaJson[];
  pagesBefore: PageRunJson[];
  pagesAfter: PageRunJson[];
  destroyed: DestroyedJson[];
}

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
    };

export interface CaseVerdict {
  verdict: Verdict;
  reason: string;
  expected: Expected | null;
  observed: Observed | null;
  differences: string[];
  /** For fail:destroyed: the era's model predicted the loss too. */
  predictedDestruction?: boolean;
  /** Era id -> this case matched that era's prediction. */
  matches: Partial<Record<EraId, boolean>>;
  invariant?: InvariantReport;
}

/** Committed_AS drift (pages) that one cycle leaves: the prediction, then the window unmapped. */
export function cycleDriftPages(pred: Prediction, pc: PlacedCase): number {
  const s = pred.state.clone();
  s.munmap(pc.window, pc.window + pc.windowPages, Number.MAX_SAFE_INTEGER);
  return s.committed;
}

/** Pages that are charged (private writable) in a VMA list. */
function chargedPages(v: VmaView[]): number {
  return v.filter((x) => x.perms === 'rw-p').reduce((n, x) => n + x.end - x.start, 0);
}

/** Committed_AS tolerance after the child exits, for what the rest of the machine does meanwhile. */
const EXIT_TOLERANCE_KB = 8192;

const hexAddr = (page: number, P: number) => `0x${(BigInt(page) * BigInt(P)).toString(16)}`;

function vmasJson(v: VmaView[], P: number): VmaJson[] {
  return v.map((x) => ({ start: hexAddr(x.start, P), end: hexAddr(x.end, P), perms: x.perms }));
}
function runsJson(r: PageRun[], P: number): PageRunJson[] {
  return r.map((x) => ({ start: hexAddr(x.start, P), end: hexAddr(x.end, P), state: x.state }));
}
function destroyedJson(d: Destroyed[], P: number): DestroyedJson[] {
  return d.map((x) => ({
    what: x.what,
    start: hexAddr(x.start, P),
    end: hexAddr(x.end, P),
    pages: x.end - x.start,
    pieces: x.pieces,
  }));
}

function rangesOf(pc: PlacedCase): [number, number][] {
  const r: [number, number][] = [[pc.window, pc.window + pc.windowPages]];
  if (pc.scenario.call.newAddr === 'zero') r.push([0, pc.newPages]);
  return r;
}

function labeller(pc: PlacedCase): (page: number) => string {
  return (page) => {
    const p = pc.scenario.layout.find(
      (x) => pc.window + x.page <= page && page < pc.window + x.page + x.pages,
    );
    return p?.label ?? 'free';
  };
}

function modelPages(s: VmaSet, pages: Iterable<number>): Map<number, PageWord> {
  const m = new Map<number, PageWord>();
  for (const p of pages) m.set(p, pageWord(s.read(p)));
  return m;
}

/** The differences between what the lab saw and what the model says, in words. */
export function differences(
  pc: PlacedCase,
  obs: Observation,
  pred: Prediction,
  P: number,
): string[] {
  const out: string[] = [];
  const r = pred.ret;
  const o = obs.ret;
  const want = r.ok ? ('raw' in r ? `returns ${r.raw}` : `returns ${hexAddr(r.page, P)}`) : r.errno;
  const got = o.ok ? `returns 0x${o.value.toString(16)}` : o.errno;
  const same = r.ok
    ? o.ok && o.value === BigInt('raw' in r ? r.raw : r.page * P)
    : !o.ok && o.errno === r.errno;
  if (!same) out.push(`return: expected ${want}, observed ${got}`);
  const ev = modelVmaViews(pred.state, rangesOf(pc));
  const fmt = (v: VmaView[]) =>
    v.map((x) => `[${x.start - pc.window},${x.end - pc.window})${x.perms}`).join(' ') || 'none';
  if (JSON.stringify(ev) !== JSON.stringify(obs.vmasAfter)) {
    out.push(`VMAs after (window pages): expected ${fmt(ev)}, observed ${fmt(obs.vmasAfter)}`);
  }
  const mp = modelPages(pred.state, obs.pagesAfter.keys());
  const bad: string[] = [];
  for (const [p, w] of obs.pagesAfter) {
    if (mp.get(p) !== w) bad.push(`page ${p - pc.window}: expected ${mp.get(p)}, observed ${w}`);
  }
  if (bad.length)
    out.push(
      `pages: ${bad.slice(0, 6).join('; ')}${bad.length > 6 ? ` (+${bad.length - 6} more)` : ''}`,
    );
  if (pred.state.mapCount !== obs.mapCountAfter) {
    out.push(`map count after: expected ${pred.state.mapCount}, observed ${obs.mapCountAfter}`);
  }
  return out;
}

export interface JudgeOptions {
  facts: MachineFacts;
  /** The era whose model judges the case (the kernel's by version, or forced). */
  era: EraId;
}

/** Predicts a placed case for one era with the case's inputs. */
export function predictFor(
  pc: PlacedCase,
  era: EraId,
  facts: MachineFacts,
  inputs: CaseInputs,
): Prediction {
  return predict(pc, era, { ...modelEnv(facts, inputs, era), window: pc.window });
}

export function judge(run: CaseRun, opts: JudgeOptions): CaseVerdict {
  if (run.status !== 'observed') {
    // skip and broken carry their reason; there is nothing to compare.
    return {
      verdict: run.status,
      reason: run.reason,
      expected: null,
      observed: null,
      differences: [],
      matches: {},
    };
  }
  const { placed: pc, obs, inputs } = run;
  const P = opts.facts.pageSize;
  const matches: Partial<Record<EraId, boolean>> = {};
  const drifts: Partial<Record<EraId, number>> = {};
  let mine: { pred: Prediction; diffs: string[] } | undefined;
  for (const era of ERAS) {
    let pred: Prediction;
    try {
      pred = predictFor(pc, era, opts.facts, inputs);
    } catch (err) {
      if (era === opts.era) {
        return {
          verdict: 'broken',
          reason: `the model cannot predict this case: ${(err as Error).message}`,
          expected: null,
          observed: null,
          differences: [],
          matches,
        };
      }
      continue;
    }
    const diffs = differences(pc, obs, pred, P);
    matches[era] = diffs.length === 0;
    if (run.accounting) {
      drifts[era] = cycleDriftPages(pred, pc);
      matches[era] &&= drifts[era] === Math.round(run.accounting.driftPagesPerCycle);
    }
    if (era === opts.era) mine = { pred, diffs };
  }
  const { pred, diffs } = mine!;
  const label = labeller(pc);
  const destroyed = obs.ret.ok
    ? []
    : destroyedBetween(
        { vmas: obs.vmasBefore, pages: obs.pagesBefore },
        { vmas: obs.vmasAfter, pages: obs.pagesAfter },
        label,
      );
  const before = layoutState(pc);
  const ranges = rangesOf(pc);
  const predictedDestroyed = pred.ret.ok
    ? []
    : destroyedBetween(
        { vmas: modelVmaViews(before, ranges), pages: modelPages(before, obs.pagesBefore.keys()) },
        {
          vmas: modelVmaViews(pred.state, ranges),
          pages: modelPages(pred.state, obs.pagesBefore.keys()),
        },
        label,
      );
  const expected: Expected = {
    era: opts.era,
    errno: pred.ret.ok ? null : pred.ret.errno,
    return: pred.ret.ok
      ? 'raw' in pred.ret
        ? String(pred.ret.raw)
        : hexAddr(pred.ret.page, P)
      : null,
    mapCountAfter: pred.state.mapCount,
    vmas: vmasJson(modelVmaViews(pred.state, ranges), P),
    pages: runsJson(pageRuns(modelPages(pred.state, obs.pagesAfter.keys())), P),
    destroyed: destroyedJson(predictedDestroyed, P),
    trace: pred.trace,
  };
  const observed: Observed = {
    errno: obs.ret.ok ? null : obs.ret.errno,
    return: obs.ret.ok ? `0x${obs.ret.value.toString(16)}` : null,
    mapCountBefore: obs.mapCountBefore,
    mapCountAfter: obs.mapCountAfter,
    mapCountMethod: obs.mapCountMethod,
    vmasBefore: vmasJson(obs.vmasBefore, P),
    vmasAfter: vmasJson(obs.vmasAfter, P),
    pagesBefore: runsJson(pageRuns(obs.pagesBefore), P),
    pagesAfter: runsJson(pageRuns(obs.pagesAfter), P),
    destroyed: destroyedJson(destroyed, P),
  };
  const s = pc.scenario;
  if (s.invariant === 'in-place') {
    const kept = obs.ret.ok;
    const invariant: InvariantReport = {
      kind: 'in-place',
      kept,
      errno: observed.errno,
      mapCountBefore: obs.mapCountBefore,
      offset: obs.mapCountBefore - opts.facts.maxMapCount,
    };
    const model = diffs.length
      ? `; differs from the ${opts.era} model: ${diffs[0]}`
      : `; the ${opts.era} model agrees`;
    return {
      verdict: kept ? 'pass' : 'fail:invariant',
      reason: kept
        ? `succeeded at map count ${obs.mapCountBefore} (${offsetWord(invariant.offset)}): needs no new VMA and gets none${model}`
        : `${observed.errno} at map count ${obs.mapCountBefore} (${offsetWord(invariant.offset)}) for a call that needs no new VMA${model}`,
      expected,
      observed,
      differences: diffs,
      matches,
      invariant,
    };
  }
  if (s.invariant === 'accounting' && run.accounting) {
    const a = run.accounting;
    const drift = a.driftPagesPerCycle;
    // The drift, measured in the child between tight readings and taken as the
    // median over the cycles, decides. What stays after the child exits is read
    // machine-wide, where any other process (a VM starting, say) moves it by
    // far more than a page: it is evidence, checked against the drift.
    const kept = Math.abs(drift) < 0.5;
    const pageKb = P / 1024;
    const chargedChangeKb = (chargedPages(obs.vmasAfter) - chargedPages(obs.vmasBefore)) * pageKb;
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
        Math.abs(a.exitResidualKb - drift * pageKb * (a.iterations + 1 + ACCOUNTING_DETAIL)) <=
        EXIT_TOLERANCE_KB,
      predictedDriftPages: drifts,
    };
    const predicted = drifts[opts.era];
    const model = `the ${opts.era} model predicts ${predicted ?? '?'} page(s) per cycle`;
    const numbers =
      `Committed_AS moved ${a.testDeltaKb} kB over ${a.iterations} cycles (control ${a.controlDeltaKb} kB): ` +
      `${drift} page(s) per cycle; one call changed it by ${a.oneCycleKb.called - a.oneCycleKb.mapped} kB where the charged pages it leaves mapped changed by ${chargedChangeKb} kB; ` +
      `${a.exitResidualKb} kB stayed after the child exited`;
    return {
      verdict: kept ? 'pass' : 'fail:invariant',
      reason: `${kept ? 'accounts kept' : 'LEAK'}: ${numbers}; ${model}`,
      expected,
      observed,
      differences: diffs,
      matches,
      invariant,
    };
  }
  if (destroyed.length) {
    const lost = destroyed
      .map((d) => `${d.end - d.start} page(s) of ${d.pieces.join('+')} ${d.what}`)
      .join(', ');
    const predicted = predictedDestroyed.length > 0;
    return {
      verdict: 'fail:destroyed',
      reason: `${observed.errno} returned after mappings were destroyed: ${lost}; the ${opts.era} model ${predicted ? 'predicts this loss' : 'does not predict it'}`,
      expected,
      observed,
      differences: diffs,
      predictedDestruction: predicted,
      matches,
    };
  }
  if (diffs.length) {
    return {
      verdict: 'fail:model',
      reason: `differs from the ${opts.era} model: ${diffs[0]}`,
      expected,
      observed,
      differences: diffs,
      matches,
    };
  }
  return {
    verdict: 'pass',
    reason: obs.ret.ok
      ? 'succeeded as the model predicts'
      : `${observed.errno} with nothing destroyed, as the model predicts`,
    expected,
    observed,
    differences: [],
    matches,
  };
}

function offsetWord(k: number): string {
  return k === 0 ? 'M' : k > 0 ? `M+${k}` : `M${k}`;
}

export interface EraScore {
  matched: number;
  of: number;
}

/** Which era's model the observations match best; ties list every best era. */
export function eraByBehaviour(
  verdicts: CaseVerdict[],
  byVersion: EraId,
): { best: EraId | null; tied: EraId[]; scores: Record<EraId, EraScore> } {
  const scores = Object.fromEntries(ERAS.map((e) => [e, { matched: 0, of: 0 }])) as Record<
    EraId,
    EraScore
  >;
  for (const v of verdicts) {
    for (const era of ERAS) {
      const m = v.matches[era];
      if (m === undefined) continue;
      scores[era].of++;
      if (m) scores[era].matched++;
    }
  }
  const top = Math.max(...ERAS.map((e) => scores[e].matched));
  const tied = ERAS.filter((e) => scores[e].matched === top && scores[e].of > 0);
  const best = tied.length === 0 ? null : tied.includes(byVersion) ? byVersion : tied.at(-1)!;
  return { best, tied, scores };
}
