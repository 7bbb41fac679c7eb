// The main job: run the catalogue (or part of it) on this kernel and build the report.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineFacts } from './facts.js';
import { judge } from './judge/index.js';
import { kernelFacts, type KernelFacts } from './kernel.js';
import { eraOfVersion, type EraId } from './model/types.js';
import { packageRoot } from './native.js';
import { buildReport, type RunReport } from './report/report.js';
import { LabPool, watchLimit } from './run/pool.js';
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
    limitChanged: watchLimit(maxMapCount),
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
  });
}
