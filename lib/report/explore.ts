// The explore report: one versioned structure that the table and HTML
// renderers draw from. Its JSON Schema is schemas/explore-report.v1.schema.json.
import type { ExploreResult, Finding } from '../explore/explore.js';
import type { GlobalEffects } from '../explore/global.js';
import type { CaseVerdict, EraScore } from '../judge/index.js';
import type { EraId } from '../model/types.js';
import { pressureText, type Scenario } from '../scenarios/types.js';
import {
  caseReport,
  kernelJson,
  reproCommand,
  type CaseReport,
  type KernelJson,
} from './report.js';

export type { CaseReport } from './report.js';

export const EXPLORE_SCHEMA = 'mremap-probe/explore-report/v1';

/** A finding as the report gives it: the explore's finding, its first case by id, and how to reproduce it. */
export interface FindingReport extends Omit<Finding, 'first'> {
  /** The first generated case that showed it. */
  firstCase: string;
  repro: string;
  /** The scenario file --save wrote, or null. */
  file: string | null;
}

export interface ExploreReport {
  schema: typeof EXPLORE_SCHEMA;
  tool: { name: 'mremap-probe'; version: string };
  startedAt: string;
  elapsedMs: number;
  kernel: KernelJson;
  limit: { maxMapCount: number };
  seed: number;
  options: {
    cases: number | null;
    budgetMs: number | null;
    /** The map-count offsets drawn, e.g. ["M-12", "M+1"]; cases without pressure too when noPressure. */
    pressure: [string, string];
    noPressure: boolean;
    allowGlobalEffects: boolean;
  };
  era: {
    byVersion: EraId;
    judgedBy: EraId;
    byBehaviour: EraId | null;
    tied: EraId[];
    agrees: boolean;
    scores: Record<EraId, EraScore>;
  };
  cases: {
    generated: number;
    run: number;
    leftOut: number;
    perSecond: number;
    exploreMs: number;
    shrinkMs: number;
    /** Where the explore phase's time went (ms): generating cases, the lab's runs (round trips and the kernel), judging (every era's model), counting the labs' maps. */
    timing: { generateMs: number; labMs: number; judgeMs: number; verifyMs: number };
  };
  /** Cases per verdict of the judging era. */
  counts: Record<string, number>;
  modelGaps: {
    /** Cases no era's model predicts (or the judging model could not follow). */
    cases: number;
    /** Signatures of the model-gap findings. */
    findings: string[];
  };
  globalEffects: GlobalEffects & { note: string };
  findings: FindingReport[];
  /** Signatures beyond the number kept. */
  unkept: { signatures: number; cases: number };
  summary: {
    findings: number;
    byKind: Record<string, number>;
    failed: boolean;
    /** Every case that ran was skipped (the lab could not run them here). */
    allSkipped: boolean;
  };
  notes: string[];
}

/** A judged case as the run report writes it. */
export function findingCase(s: Scenario, v: CaseVerdict): CaseReport {
  return caseReport(s, v, v.judged ? v.judged.run.elapsedMs : null);
}

export interface ExploreReportInput {
  result: ExploreResult;
  version: string;
  options: { cases?: number; budgetMs?: number; pressure?: [number, number] };
  allowGlobalEffects: boolean;
  /** Where --save wrote each finding (signature -> file), and the directory. */
  saved?: { dir: string; files: Map<string, string> };
}

const mib = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;

function globalNote(g: GlobalEffects): string {
  const drift =
    `Committed_AS moved ${mib(g.driftKb)} from before the explore to after its lab children exited ` +
    `(${mib(g.runningDriftKb)} while it ran; the judging model predicts ${mib(g.predictedLeakKb)} leaked by the cases run)`;
  if (g.capKb === null) return `${drift}; no cap (--allow-global-effects)`;
  const over =
    g.runningDriftKb > g.capKb
      ? `; the measured drift passed the cap: the rest of the machine moves Committed_AS too, or the kernel leaks where the model does not predict it`
      : '';
  const out = g.leftOut + g.leftOutShrinking;
  if (!out) return `${drift}; the cap of ${mib(g.capKb)} was never near${over}`;
  return (
    `${drift}; ${g.leftOut} generated case(s) and ${g.leftOutShrinking} shrink candidate(s) that the model predicts to leak ` +
    `were left out once the predicted leak reached ${mib(g.nearAtKb ?? 0)}, half the cap of ${mib(g.capKb)} (--allow-global-effects runs them)${over}`
  );
}

export function buildExploreReport(i: ExploreReportInput): ExploreReport {
  const r = i.result;
  const [lo, hi] = i.options.pressure ?? [-12, 1];
  const findings: FindingReport[] = r.findings.map(({ first, ...f }) => {
    const repro = reproCommand(f.scenario.id, i.saved?.dir ?? 'DIR');
    return {
      ...f,
      firstCase: first.id,
      case: { ...f.case, repro },
      repro,
      file: i.saved?.files.get(f.signature) ?? null,
    };
  });
  const byKind: Record<string, number> = {};
  for (const f of findings) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
  const notes = [...r.notes];
  if (!i.saved && findings.length) {
    notes.push('the repro commands read the scenario files that --save DIR writes');
  }
  return {
    schema: EXPLORE_SCHEMA,
    tool: { name: 'mremap-probe', version: i.version },
    startedAt: r.startedAt.toISOString(),
    elapsedMs: Math.round(r.elapsedMs),
    kernel: kernelJson(r.kernel),
    limit: { maxMapCount: r.facts.maxMapCount },
    seed: r.seed,
    options: {
      cases: i.options.cases ?? null,
      budgetMs: i.options.cases === undefined ? (i.options.budgetMs ?? null) : null,
      pressure: [pressureText(lo), pressureText(hi)],
      noPressure: i.options.pressure === undefined,
      allowGlobalEffects: i.allowGlobalEffects,
    },
    era: {
      byVersion: r.byVersion,
      judgedBy: r.judgedBy,
      byBehaviour: r.era.best,
      tied: r.era.tied,
      agrees: r.era.best === r.byVersion,
      scores: r.era.scores,
    },
    cases: {
      generated: r.generated,
      run: r.run,
      leftOut: r.global.leftOut,
      perSecond: Math.round((r.run / Math.max(r.exploreMs, 1)) * 1000 * 10) / 10,
      exploreMs: Math.round(r.exploreMs),
      shrinkMs: Math.round(r.shrinkMs),
      timing: {
        generateMs: Math.round(r.timing.generateMs),
        labMs: Math.round(r.timing.labMs),
        judgeMs: Math.round(r.timing.judgeMs),
        verifyMs: Math.round(r.timing.verifyMs),
      },
    },
    counts: r.counts,
    modelGaps: {
      cases: r.modelGapCases,
      findings: findings.filter((f) => f.kind === 'model-gap').map((f) => f.signature),
    },
    globalEffects: { ...r.global, note: globalNote(r.global) },
    findings,
    unkept: r.unkept,
    summary: {
      findings: findings.length,
      byKind,
      failed: findings.length > 0 || r.unkept.signatures > 0,
      allSkipped: r.run > 0 && r.counts.skip === r.run,
    },
    notes,
  };
}

/** 0 nothing found, 1 any finding (a failure, a model gap or a broken case), 4 every case skipped. */
export function exploreExitCode(r: ExploreReport): number {
  if (r.summary.failed) return 1;
  return r.summary.allSkipped ? 4 : 0;
}
