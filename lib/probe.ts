// The main job: run the catalogue (or part of it) on this kernel and build the report.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineFacts, observationNotes, type MachineFacts } from './facts.js';
import { judge } from './judge/index.js';
import type { CaseRun } from './observation.js';
import type { PressureLab } from './pressure.js';
import { kernelFacts, type KernelFacts } from './kernel.js';
import { eraOfVersion, type EraId } from './model/types.js';
import { packageRoot } from './native.js';
import { buildReport, type RunReport } from './report/report.js';
import { LabPool, watchLimit } from './run/pool.js';
import { lowerLimitHolder } from './sysctl.js';
import type { Scenario } from './scenarios/types.js';

export function packageVersion(): string {
  try {
    return (
      JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
}

export interface ProbeOptions {
  scenarios: Scenario[];
  /** Judge by this era's model instead of the one the version says. */
  era?: EraId;
  /** The limit the run works against (lowered or not), and the original if lowered. */
  maxMapCount?: number;
  loweredFrom?: number | null;
  maxFill?: number;
  allowGlobalEffects?: boolean;
  kernel?: KernelFacts;
  /** Notes for the report from outside the run, e.g. a limit another probe left lowered. */
  notes?: string[];
  /** Where cases from outside the catalogue came from (id -> the --cases path), for their repro commands. */
  casesFrom?: Map<string, string>;
  onCase?: (done: number, total: number, s: Scenario) => void;
}

export async function runProbe(o: ProbeOptions): Promise<RunReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const read = o.kernel ?? kernelFacts();
  // The kernel's own setting, not the value a --lower-limit run put there for the moment.
  const kernel = o.loweredFrom ? { ...read, maxMapCount: o.loweredFrom } : read;
  const maxMapCount = o.maxMapCount ?? read.maxMapCount;
  const facts = machineFacts(kernel, maxMapCount);
  const byVersion = eraOfVersion(kernel.version);
  const judgedBy = o.era ?? byVersion;
  const pool = new LabPool({
    facts,
    ...(o.maxFill ? { maxFill: o.maxFill } : {}),
    ...(o.allowGlobalEffects ? { allowGlobalEffects: true } : {}),
    limitChanged: watchLimit(maxMapCount, () => {
      const h = lowerLimitHolder();
      return h ? `a --lower-limit run (pid ${h.pid}) holds it` : undefined;
    }),
  });
  const notes: string[] = [...(o.notes ?? [])];
  let runs;
  try {
    runs = await pool.runAll(o.scenarios, o.onCase);
    const off = pool.verifyTracking();
    if (off) {
      notes.push(`map counts could not be vouched for: ${off}`);
      runs = runs.map((r) =>
        r.status === 'observed' ? { status: 'broken' as const, reason: off } : r,
      );
    }
  } finally {
    pool.close();
  }
  notes.push(...limitNotes(pool.environments(), runs, facts, kernel));
  const verdicts = runs.map((r) => judge(r, { facts, era: judgedBy }));
  return buildReport({
    version: packageVersion(),
    startedAt,
    elapsedMs: performance.now() - t0,
    kernel,
    maxMapCount,
    loweredFrom: o.loweredFrom ?? null,
    byVersion,
    judgedBy,
    scenarios: o.scenarios,
    verdicts,
    elapsed: runs.map((r) => (r.status === 'observed' ? r.elapsedMs : null)),
    notes,
    ...(o.casesFrom ? { casesFrom: o.casesFrom } : {}),
  });
}

/**
 * The limits of this environment that changed what the cases measured: soft
 * limits the lab raised, an RLIMIT_DATA that refuses the overcommit grow
 * before its charge, and hard limits that kept cases from running.
 */
export function limitNotes(
  environments: PressureLab['environment'][],
  runs: CaseRun[],
  facts: MachineFacts,
  kernel: KernelFacts,
): string[] {
  const notes: string[] = observationNotes(facts);
  for (const r of new Set(environments.flatMap((e) => e.raised))) {
    notes.push(`the lab raised the soft limit ${r} (to the hard limit) before the cases ran`);
  }
  const data = Number(kernel.rlimitData.max);
  if (Number.isFinite(data) && data / facts.pageSize < facts.beyondCommit) {
    notes.push(
      `RLIMIT_DATA is ${data} bytes: may_expand_vm() refuses a grow beyond it before the overcommit charge, so limits-commit ends in a clean ENOMEM`,
    );
  }
  const here = runs.filter(
    (r) => r.status === 'skip' && /^could not (run|set the case up) here/.test(r.reason),
  );
  if (here.length) {
    notes.push(
      `${here.length} case(s) could not run with this environment's limits; the first: ${(here[0] as { reason: string }).reason}`,
    );
  }
  return notes;
}
