// The explore loop: generated cases in batches, run in the lab (one fill for
// the whole explore, the count stepped between cases), each judged by the
// judging era's model with every era's match collected, and classified.
// Cases with one signature are one finding; the first case of each is shrunk
// to a minimal one by re-running simpler cases in the lab. Memory holds
// counters and findings, never every case.
// About 400 lines: the loop, its batching and its bookkeeping share state
// that splitting would pass around.
import { machineFacts, observationNotes, type MachineFacts } from '../facts.js';
import { judge, type CaseVerdict, type EraScore } from '../judge/index.js';
import { cycleDriftPages } from '../judge/accounting.js';
import { addScores, bestEra, emptyScores } from '../judge/eras.js';
import { kernelFacts, type KernelFacts } from '../kernel.js';
import { eraOfVersion, type EraId } from '../model/types.js';
import type { CaseRun } from '../observation.js';
import { findingCase, type CaseReport } from '../report/explore.js';
import { runRank } from '../run/pool.js';
import type { Scenario } from '../scenarios/types.js';
import {
  classify,
  inPlaceScenario,
  inPlaceSuspect,
  judgeInPlaceFailure,
  kindRank,
  noEraPredicts,
} from './findings.js';
import type { Classified } from './findings.js';
import { generateScenarios, type GenOptions } from './generate.js';
import { CommitWatch, type GlobalEffects } from './global.js';
import { ExploreLab, unfilled, unpressured } from './labs.js';
import { shrinkFinding, unshrunk, type Group } from './shrink-finding.js';

export interface ExploreProgress {
  phase: 'explore' | 'shrink';
  /** Cases run so far (left-out cases not counted). */
  cases: number;
  perSecond: number;
  findings: number;
  elapsedMs: number;
  /** Shrink phase: findings shrunk so far, of how many. */
  shrunk?: [number, number];
}

export interface ExploreOptions {
  seed: number;
  /** Run this many generated cases (left-out ones included)... */
  cases?: number;
  /** ...or generate until this much time has passed (default 60 s when neither is given). */
  budgetMs?: number;
  /** Map-count offsets to draw from; without it, M-12..M+1 and cases without pressure. */
  pressure?: [number, number];
  /** Judge by this era's model instead of the version's. */
  era?: EraId;
  allowGlobalEffects?: boolean;
  /** The Committed_AS drift allowed without --allow-global-effects, kB (default 64 MiB). */
  globalCapKb?: number;
  /** Lab runs per finding while shrinking, at most. */
  maxShrinkRuns?: number;
  /** Findings shrunk at most (the rest are reported as first seen). */
  maxShrunk?: number;
  /** Distinct signatures kept at most (cases of others are counted). */
  maxFindings?: number;
  /** Cases between two counts of the labs' maps (each count costs tens of ms at 65,000 VMAs). */
  windowSize?: number;
  kernel?: KernelFacts;
  maxMapCount?: number;
  maxFill?: number;
  onProgress?: (p: ExploreProgress) => void;
}

export interface Finding extends Classified {
  /** Generated cases that showed it. */
  count: number;
  /** The first generated case that showed it. */
  first: Scenario;
  /** The shrunk scenario (the first case itself when it was not shrunk). */
  scenario: Scenario;
  shrink: { runs: number; steps: number; reproduced: boolean; exhausted: boolean } | null;
  verdict: string;
  reason: string;
  /** The eras whose model predicts the (shrunk) case. */
  eras: EraId[];
  /** The shrunk case as run (or the first case when the shrunk one was not run). */
  case: CaseReport;
  /** The model's trace of the shrunk case for every era. */
  traces: { era: EraId; text: string }[];
}

export interface ExploreResult {
  seed: number;
  startedAt: Date;
  elapsedMs: number;
  exploreMs: number;
  shrinkMs: number;
  /** Where the explore phase's time went, ms (the rest: progress, event loop, garbage collection). */
  timing: { generateMs: number; labMs: number; judgeMs: number; verifyMs: number };
  kernel: KernelFacts;
  facts: MachineFacts;
  byVersion: EraId;
  judgedBy: EraId;
  era: { best: EraId | null; tied: EraId[]; scores: Record<EraId, EraScore> };
  generated: number;
  /** Cases that went to the lab (generated less left out). */
  run: number;
  counts: Record<string, number>;
  /** Observed cases no era's model predicts, and cases the judging model could not follow. */
  modelGapCases: number;
  global: GlobalEffects;
  findings: Finding[];
  /** Signatures beyond maxFindings: how many, and their cases. */
  unkept: { signatures: number; cases: number };
  notes: string[];
}

/** Scenarios generated at a time: a replay path skips to each chunk without drawing what came before. */
const CHUNK = 1024;
/**
 * Cases run and judged at a time: only their observations are held at once,
 * and so few that they die young (scavenged, not promoted): a piece of 32
 * doubled V8's old space over a long explore.
 */
const PIECE = 4;

/** What a judged case leaves behind until its window's map counts are vouched for. */
interface Rec {
  /** Its place in the window, in the order generated. */
  i: number;
  s: Scenario;
  verdict: string;
  matches: Partial<Record<EraId, boolean>>;
  c: Classified | null;
  gap: boolean;
  /** Committed_AS pages the judging era's model predicts it leaked. */
  leakPages: number;
  observed: boolean;
  /** For a signature not kept yet: the case's evidence and reason. */
  firstCase?: CaseReport;
  reason?: string;
}

export async function runExplore(o: ExploreOptions): Promise<ExploreResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const kernel = o.kernel ?? kernelFacts();
  const facts = machineFacts(kernel, o.maxMapCount ?? kernel.maxMapCount);
  const byVersion = eraOfVersion(kernel.version);
  const era = o.era ?? byVersion;
  const budgetMs = o.cases === undefined ? (o.budgetMs ?? 60_000) : undefined;
  const windowSize = o.windowSize ?? 512;
  const maxFindings = o.maxFindings ?? 500;
  const maxShrunk = o.maxShrunk ?? 100;
  const gen: GenOptions = o.pressure ? { pressure: o.pressure, noPressure: false } : {};
  let lab = new ExploreLab(facts, o);
  const watch = new CommitWatch(
    facts,
    era,
    o.allowGlobalEffects ? null : (o.globalCapKb ?? 64 * 1024),
  );
  const counts: Record<string, number> = {};
  const scores = emptyScores();
  const groups = new Map<string, Group>();
  const unkept = { signatures: 0, cases: 0 };
  const unkeptSeen = new Set<string>();
  const notes: string[] = [];
  let generated = 0;
  let run = 0;
  let gapCases = 0;
  const progress = (phase: ExploreProgress['phase'], shrunk?: [number, number]) => {
    const elapsedMs = performance.now() - t0;
    o.onProgress?.({
      phase,
      cases: run,
      perSecond: (run / Math.max(exploreMs || elapsedMs, 1)) * 1000,
      findings: groups.size,
      elapsedMs,
      ...(shrunk ? { shrunk } : {}),
    });
  };
  let exploreMs = 0;
  /** Where the explore's time went (ms): generating, the lab's runs, judging, counting maps. */
  const timing = { generateMs: 0, labMs: 0, judgeMs: 0, verifyMs: 0 };
  const timed = <T>(k: keyof typeof timing, f: () => T): T => {
    const t = performance.now();
    try {
      return f();
    } finally {
      timing[k] += performance.now() - t;
    }
  };
  const timedAsync = async <T>(k: keyof typeof timing, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      timing[k] += performance.now() - t;
    }
  };
  const more = () =>
    budgetMs === undefined ? generated < o.cases! : performance.now() - t0 < budgetMs;

  /** Judges runs and says which ones broke the in-place invariant (a second run without pressure). */
  const judgeRuns = async (batch: Scenario[], runs: CaseRun[]) => {
    const verdicts = timed('judgeMs', () => runs.map((r) => judge(r, { facts, era })));
    const suspects = batch.flatMap((s, i) => (inPlaceSuspect(s, runs[i]!) ? [i] : []));
    const inPlace = new Set<number>();
    if (suspects.length) {
      const again = await timedAsync('labMs', () =>
        lab.run(suspects.map((i) => unpressured(batch[i]!))),
      );
      again.forEach((r, k) => {
        if (r.status === 'observed' && r.obs.ret.ok) inPlace.add(suspects[k]!);
      });
    }
    return timed('judgeMs', () =>
      verdicts.map((v, i) => {
        const w = inPlace.has(i) ? judgeInPlaceFailure(v, runs[i]!, { facts, era }) : v;
        // A case judged again carries the invariant into its saved scenario.
        return {
          v: w,
          c: classify(w, inPlace.has(i)),
          s: w === v ? batch[i]! : inPlaceScenario(batch[i]!),
        };
      }),
    );
  };

  /** What one case leaves of itself: counters and, for a signature not yet kept, its evidence. */
  const record = (i: number, s: Scenario, v: CaseVerdict, c: Classified | null): Rec => ({
    i,
    s,
    verdict: v.verdict,
    matches: v.matches,
    c,
    gap: noEraPredicts(v) || (v.verdict === 'broken' && c?.kind === 'model-gap'),
    leakPages: v.judged ? cycleDriftPages(v.judged.prediction, v.judged.run.placement) : 0,
    observed: v.judged !== undefined,
    ...(c && !groups.has(c.signature) ? { firstCase: findingCase(s, v), reason: v.reason } : {}),
  });

  const apply = (r: Rec) => {
    counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
    addScores(scores, r.matches);
    watch.account(r.leakPages);
    if (r.gap) gapCases++;
    const c = r.c;
    if (!c) return;
    const g = groups.get(c.signature);
    if (g) g.count++;
    else if (groups.size < maxFindings) {
      groups.set(c.signature, {
        classified: c,
        first: r.s,
        count: 1,
        firstCase: r.firstCase!,
        verdict: r.verdict,
        reason: r.reason!,
      });
    } else {
      unkept.cases++;
      if (!unkeptSeen.has(c.signature)) {
        unkeptSeen.add(c.signature);
        unkept.signatures++;
      }
    }
  };

  const findings: Finding[] = [];
  let shrinkMs = 0;
  try {
    while (more()) {
      const chunk = timed('generateMs', () =>
        generateScenarios(
          o.seed,
          budgetMs === undefined ? Math.min(CHUNK, o.cases! - generated) : CHUNK,
          gen,
          generated,
        ),
      );
      for (let k = 0; k < chunk.length && more(); k += windowSize) {
        // A window: its cases in the order that needs the fewest filler
        // changes, run and judged a few at a time (so that only those few
        // observations are held), then every lab's map count checked once.
        const slice = chunk.slice(k, k + windowSize);
        const batch = watch.admit(slice);
        const order = batch
          .map((s, i) => ({ s, i }))
          .sort((x, y) => runRank(x.s) - runRank(y.s) || x.i - y.i);
        const records: Rec[] = [];
        // A budget can end inside a window (under TCG a window takes tens of
        // seconds); the cases not run are not counted as generated.
        let notRun = 0;
        for (let j = 0; j < order.length; j += PIECE) {
          if (!more()) {
            notRun = order.length - j;
            break;
          }
          const piece = order.slice(j, j + PIECE);
          const base = run;
          const runs = await timedAsync('labMs', () =>
            lab.run(
              piece.map((x) => x.s),
              (d) => {
                run = base + d;
                progress('explore');
              },
            ),
          );
          run = base + piece.length;
          const judged = await judgeRuns(
            piece.map((x) => x.s),
            runs,
          );
          timed('judgeMs', () =>
            judged.forEach(({ v, c, s }, n) => records.push(record(piece[n]!.i, s, v, c))),
          );
        }
        const off = timed('verifyMs', () => lab.verify());
        records.sort((x, y) => x.i - y.i);
        for (const r of records) {
          const why = unfilled(r.s) ? off.free : off.pressured;
          if (!r.observed || !why) apply(r);
          else {
            const v: CaseVerdict = {
              verdict: 'broken',
              reason: `map counts could not be vouched for: ${why}`,
              differences: [],
              matches: {},
            };
            apply(record(r.i, r.s, v, classify(v)));
          }
        }
        generated += slice.length - notRun;
        watch.read(lab.labs());
      }
    }
    exploreMs = performance.now() - t0;
    progress('explore');

    // Shrink each finding, most severe first, in new lab children: a shrunk
    // case must show its finding from a clean start, as `run --cases` runs
    // it, not only in a child that hundreds of thousands of cases went
    // through (a per-process count the kernel leaks, such as locked_vm,
    // piles up there).
    lab.close();
    lab = new ExploreLab(facts, o);
    const order = [...groups.values()].sort(
      (a, b) =>
        kindRank(a.classified.kind) - kindRank(b.classified.kind) ||
        (a.classified.signature < b.classified.signature ? -1 : 1),
    );
    for (const [n, g] of order.entries()) {
      progress('shrink', [n, order.length]);
      findings.push(
        n < maxShrunk
          ? await shrinkFinding(g, lab, watch, facts, era, o.maxShrinkRuns ?? 200)
          : unshrunk(g, facts),
      );
    }
    shrinkMs = performance.now() - t0 - exploreMs;
  } finally {
    lab.close();
  }
  notes.push(...observationNotes(facts));
  if (groups.size > maxShrunk) {
    notes.push(
      `${groups.size - maxShrunk} finding(s) beyond the first ${maxShrunk} were not shrunk`,
    );
  }
  if (unkept.signatures) {
    notes.push(
      `${unkept.signatures} more signature(s) (${unkept.cases} case(s)) were counted but not kept: more than ${maxFindings} findings`,
    );
  }
  const best = bestEra(scores, byVersion);
  if (best.best && best.best !== era) {
    notes.push(
      `the cases match the ${best.best} model best, not the ${era} model that judged them: fail:model findings may be those of another era (--era ${best.best})`,
    );
  }
  return {
    seed: o.seed,
    startedAt,
    elapsedMs: performance.now() - t0,
    exploreMs,
    shrinkMs,
    timing,
    kernel,
    facts,
    byVersion,
    judgedBy: era,
    era: best,
    generated,
    run,
    counts,
    modelGapCases: gapCases,
    global: watch.result(),
    findings,
    unkept,
    notes,
  };
}
