// The run report: one versioned structure that every output format is drawn
// from, and that `matrix` and `compare` read back. Its JSON Schema is
// schemas/run-report.v1.schema.json.
import type { KernelFacts } from '../kernel.js';
import type { EraId } from '../model/types.js';
import { pressureText, type Scenario } from '../scenarios/types.js';
import { describeDifference } from '../judge/differences.js';
import {
  VERDICTS,
  eraByBehaviour,
  type CaseVerdict,
  type EraScore,
  type Verdict,
} from '../judge/index.js';
import { expectedJson, observedJson, type Expected, type Observed } from './cases.js';

export const SCHEMA = 'mremap-probe/run-report/v1';

export interface CaseReport {
  id: string;
  family: string;
  summary: string;
  /** Map count at the call minus vm.max_map_count (-5 for M-5), or null without pressure. */
  mapCountOffset: number | null;
  pressure: string;
  verdict: Verdict;
  reason: string;
  /** fail:destroyed only: whether the era's model predicts the loss. */
  predictedDestruction?: boolean;
  expected: Expected | null;
  observed: Observed | null;
  differences: string[];
  /** The eras whose model this case's observation matches. */
  matchingEras: EraId[];
  /** For a failing case: the command that writes a standalone C reproducer. */
  repro?: string;
  /** Invariant cases: what was measured. */
  invariant?: CaseVerdict['invariant'];
  elapsedMs: number | null;
}

/** The kernel as reports name it (as `info` does); reports from before vaBits and protNoneReadable were measured lack them. */
export type KernelJson = Pick<
  KernelFacts,
  'release' | 'version' | 'arch' | 'pageSize' | 'maxMapCount' | 'gateVma'
> &
  Partial<Pick<KernelFacts, 'vaBits' | 'protNoneReadable'>>;

export function kernelJson(k: KernelFacts): KernelJson {
  const { release, version, arch, pageSize, maxMapCount, gateVma, vaBits, protNoneReadable } = k;
  return { release, version, arch, pageSize, maxMapCount, gateVma, vaBits, protNoneReadable };
}

export interface RunReport {
  schema: typeof SCHEMA;
  tool: { name: 'mremap-probe'; version: string };
  startedAt: string;
  elapsedMs: number;
  kernel: KernelJson;
  /** The limit the cases ran against, and the original when --lower-limit lowered it. */
  limit: { maxMapCount: number; loweredFrom: number | null };
  era: {
    byVersion: EraId;
    byBehaviour: EraId | null;
    /** Every era with the best score, when more than one. */
    tied: EraId[];
    agrees: boolean;
    /** The era whose model judged the cases (byVersion, unless --era forced another). */
    judgedBy: EraId;
    scores: Record<EraId, EraScore>;
  };
  cases: CaseReport[];
  summary: {
    total: number;
    counts: Record<Verdict, number>;
    /** Cases where an error return destroyed mappings, with what was lost. */
    destroyedOnError: { id: string; errno: string | null; lost: string; predicted: boolean }[];
    failed: boolean;
    allSkipped: boolean;
  };
  notes: string[];
}

export interface BuildInput {
  version: string;
  startedAt: Date;
  elapsedMs: number;
  kernel: KernelFacts;
  maxMapCount: number;
  loweredFrom: number | null;
  byVersion: EraId;
  judgedBy: EraId;
  scenarios: Scenario[];
  verdicts: CaseVerdict[];
  elapsed: (number | null)[];
  notes: string[];
  /** Where cases from outside the catalogue were loaded from (id -> file or directory given to --cases). */
  casesFrom?: Map<string, string>;
}

/** The command that writes a case's C reproducer; `cases` is the scenario file or directory of a case from outside the catalogue. */
export function reproCommand(id: string, cases?: string): string {
  const from = cases ? ` --cases '${cases.replaceAll("'", "'\\''")}'` : '';
  return `mremap-probe repro '${id}'${from} --output repro.c`;
}

/** One case of a report: the verdict with its evidence, as JSON. */
export function caseReport(
  s: Scenario,
  v: CaseVerdict,
  elapsedMs: number | null,
  casesPath?: string,
): CaseReport {
  const failing = v.verdict.startsWith('fail');
  return {
    id: s.id,
    family: s.family,
    summary: s.summary,
    mapCountOffset: s.pressure,
    pressure: pressureText(s.pressure),
    verdict: v.verdict,
    reason: v.reason,
    ...(v.predictedDestruction === undefined
      ? {}
      : { predictedDestruction: v.predictedDestruction }),
    expected: v.judged ? expectedJson(v.judged) : null,
    observed: v.judged ? observedJson(v.judged) : null,
    differences: v.judged
      ? v.differences.map((d) => describeDifference(d, v.judged!.run.placement))
      : [],
    matchingEras: (Object.entries(v.matches) as [EraId, boolean][])
      .filter(([, m]) => m)
      .map(([e]) => e),
    ...(failing ? { repro: reproCommand(s.id, casesPath) } : {}),
    ...(v.invariant ? { invariant: v.invariant } : {}),
    elapsedMs: elapsedMs === null ? null : Math.round(elapsedMs * 100) / 100,
  };
}

export function buildReport(i: BuildInput): RunReport {
  const cases: CaseReport[] = i.scenarios.map((s, k) =>
    caseReport(s, i.verdicts[k]!, i.elapsed[k] ?? null, i.casesFrom?.get(s.id)),
  );
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const c of cases) counts[c.verdict]++;
  const era = eraByBehaviour(
    i.verdicts.map((v) => v.matches),
    i.byVersion,
  );
  const destroyedOnError = cases
    .filter((c) => c.verdict === 'fail:destroyed')
    .map((c) => ({
      id: c.id,
      errno: c.observed?.errno ?? null,
      lost: (c.observed?.destroyed ?? [])
        .map((d) => `${d.pages} page(s) of ${d.pieces.join('+')} ${d.what} at ${d.start}`)
        .join('; '),
      predicted: c.predictedDestruction === true,
    }));
  const failed = failures(counts) + counts.broken > 0;
  return {
    schema: SCHEMA,
    tool: { name: 'mremap-probe', version: i.version },
    startedAt: i.startedAt.toISOString(),
    elapsedMs: Math.round(i.elapsedMs),
    kernel: kernelJson(i.kernel),
    limit: { maxMapCount: i.maxMapCount, loweredFrom: i.loweredFrom },
    era: {
      byVersion: i.byVersion,
      byBehaviour: era.best,
      tied: era.tied,
      agrees: era.best === i.byVersion,
      judgedBy: i.judgedBy,
      scores: era.scores,
    },
    cases,
    summary: {
      total: cases.length,
      counts,
      destroyedOnError,
      failed,
      allSkipped: cases.length > 0 && counts.skip === cases.length,
    },
    notes: i.notes,
  };
}

/** Cases with any `fail:` verdict (reports written before a verdict existed lack its count). */
export function failures(counts: Partial<Record<Verdict, number>>): number {
  return VERDICTS.filter((v) => v.startsWith('fail:')).reduce((n, v) => n + (counts[v] ?? 0), 0);
}

/** kselftest's exit codes: 0 nothing failed, 1 something failed, 4 everything skipped. */
export function exitCodeOf(r: RunReport): number {
  if (r.summary.failed) return 1;
  if (r.summary.allSkipped) return 4;
  return 0;
}
