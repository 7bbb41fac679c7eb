// `mremap-probe explore`: generated cases in the lab, each judged against
// every era's model; findings shrunk, deduplicated and reported.
import { randomInt } from 'node:crypto';
import type { Command } from 'commander';
import { runExplore, type ExploreProgress } from '../explore/explore.js';
import { checkSaveDir, findingOrigin, saveScenario, ScenarioFileError } from '../explore/files.js';
import { parseTarget } from '../pressure.js';
import { packageVersion } from '../probe.js';
import { buildExploreReport, exploreExitCode, type ExploreReport } from '../report/explore.js';
import { formatExploreHtml } from '../report/explore-html.js';
import { formatExploreTable } from '../report/explore-table.js';
import { reproCommand } from '../report/report.js';
import { emit, openOutput, parseIntOption, toJson, UsageError } from './common.js';
import { ERA_OPTION_HELP, parseEra } from './era.js';
import { applyLowerLimit, limitNotes } from './limits.js';
import { statusLine } from './progress.js';

export const EXPLORE_FORMATS = ['table', 'json', 'html'] as const;

interface Options {
  seed?: string;
  budget?: string;
  cases?: string;
  pressure?: string;
  era?: string;
  format: string;
  output?: string;
  save?: string;
  allowGlobalEffects?: boolean;
  globalCap: string;
  shrinkRuns: string;
  maxFill?: string;
  lowerLimit?: string;
  progress: boolean;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "60s", "5m", "1.5h", "500ms", or plain seconds ("300"), in milliseconds. */
export function parseBudget(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2] ?? 's']! : NaN;
  if (!m || !(ms >= 1) || ms > 7 * 24 * 3_600_000) {
    throw new UsageError(
      `--budget wants a duration such as 60s, 5m, 1h or a number of seconds, up to a week (got ${JSON.stringify(text)})`,
    );
  }
  return Math.round(ms);
}

/** "M-12..M+1" or one offset ("M-5"), as offsets from vm.max_map_count. */
export function parsePressure(text: string): [number, number] {
  const ends = text.split('..');
  if (ends.length > 2) {
    throw new UsageError(`--pressure wants M-k..M+j or one offset (got ${JSON.stringify(text)})`);
  }
  const offsets = ends.map((e) => {
    let t;
    try {
      t = parseTarget(e);
    } catch (err) {
      throw new UsageError(`--pressure: ${(err as Error).message}`);
    }
    if (t.offset === undefined) {
      throw new UsageError(
        `--pressure takes offsets from the limit (M-12, M, M+1), not a count (got ${JSON.stringify(e)})`,
      );
    }
    return t.offset;
  });
  const lo = offsets[0]!;
  const hi = offsets[1] ?? lo;
  if (lo > hi) throw new UsageError(`--pressure: ${ends[0]} lies above ${ends[1]}`);
  if (lo < -4096 || hi > 1) {
    throw new UsageError(`--pressure must lie within M-4096..M+1 (got ${JSON.stringify(text)})`);
  }
  return [lo, hi];
}

/** "64MiB", "512M", "1G", "65536K", or a plain number of MiB, in kB. */
export function parseSize(name: string, text: string): number {
  const m = /^(\d+)\s*(k|kib|m|mib|g|gib)?$/i.exec(text.trim());
  if (!m) {
    throw new UsageError(
      `${name} wants a size such as 64MiB, 512M or 1G (got ${JSON.stringify(text)})`,
    );
  }
  const unit = (m[2] ?? 'm').toLowerCase()[0]!;
  return Number(m[1]) * (unit === 'k' ? 1 : unit === 'm' ? 1024 : 1024 * 1024);
}

export function renderExplore(r: ExploreReport, format: string): string {
  if (format === 'json') return toJson(r);
  if (format === 'html') return formatExploreHtml(r);
  return formatExploreTable(r);
}

function progressText(p: ExploreProgress, seed: number): string {
  const rate = `${p.cases} cases, ${Math.round(p.perSecond)}/s, ${p.findings} finding(s)`;
  return p.phase === 'explore'
    ? `explore seed ${seed}: ${rate}, ${(p.elapsedMs / 1000).toFixed(0)} s`
    : `explore seed ${seed}: ${rate}; shrinking ${p.shrunk![0] + 1}/${p.shrunk![1]}`;
}

export function registerExplore(program: Command): void {
  program
    .command('explore')
    .description(
      "run generated cases (layouts, calls, flags, limits, map-count offsets) on this kernel, judge each against every era's model, and shrink each finding to a minimal case",
    )
    .option(
      '--seed <n>',
      'the seed of the generator (default: a random one, printed in the report)',
    )
    .option('--budget <time>', 'explore this long: 60s, 5m, 1h or seconds (default 60s)')
    .option('--cases <n>', 'explore this many generated cases instead of a time budget')
    .option(
      '--pressure <range>',
      'map-count offsets to draw, e.g. M-12..M+1 or M-5 (default M-12..M+1 and cases without pressure)',
    )
    .option('--era <id>', ERA_OPTION_HELP)
    .option('--format <format>', `output format: ${EXPLORE_FORMATS.join(', ')}`, 'table')
    .option('-o, --output <file>', 'write the report to a file (written whole, or not at all)')
    .option(
      '--save <dir>',
      'write each shrunk finding as a scenario file there, for run/repro/explain --cases',
    )
    .option(
      '--allow-global-effects',
      'run every case, even those the model predicts to leak Committed_AS for good on this kernel',
    )
    .option(
      '--global-cap <size>',
      'the Committed_AS leak allowed without --allow-global-effects: from half of it, cases the model predicts to leak are left out',
      '64MiB',
    )
    .option('--shrink-runs <n>', 'lab runs per finding while shrinking, at most', '200')
    .option(
      '--max-fill <n>',
      'fill at most this many VMAs; a larger vm.max_map_count skips the pressure cases',
    )
    .option(
      '--lower-limit <n>',
      'as root: lower vm.max_map_count to n for the explore, then restore it (as run does)',
    )
    .option('--no-progress', 'no progress line')
    .addHelpText(
      'after',
      `
Findings: fail:destroyed (an error after mappings or pages were destroyed or
changed), in-place (a call that needs no new VMA failing near the limit), any
other fail: verdict of the judge (fail:contract...), fail:model (the judging
era's model does not predict the outcome), model-gap (no era's model predicts
it), broken (the lab could not run the case). Cases with one signature (kind,
errno, what was destroyed by role, where kernel and model part) are one
finding; its first case is shrunk by running simpler ones in the lab.
The same seed on the same kernel gives the same cases and findings (with
--cases; a --budget ends wherever the time runs out).
--lower-limit N lowers vm.max_map_count as run --lower-limit does (root;
saved, locked against a second probe, restored at the end and on signals):
fewer VMAs to fill per lab child. Guests (vm/matrix --explore) use it.
Exit status: 0 no finding, 1 findings, 2 usage error, 4 could not run here.`,
    )
    .action(async (opts: Options) => {
      if (opts.budget !== undefined && opts.cases !== undefined) {
        throw new UsageError('--budget and --cases exclude each other: give one');
      }
      const budgetMs = opts.budget !== undefined ? parseBudget(opts.budget) : undefined;
      const cases =
        opts.cases !== undefined ? parseIntOption('--cases', opts.cases, 1, 10_000_000) : undefined;
      const seed =
        opts.seed !== undefined
          ? parseIntOption('--seed', opts.seed, 0, 2 ** 31 - 1)
          : randomInt(2 ** 31 - 1);
      const pressure = opts.pressure !== undefined ? parsePressure(opts.pressure) : undefined;
      const era = parseEra(opts.era);
      if (!(EXPLORE_FORMATS as readonly string[]).includes(opts.format)) {
        throw new UsageError(
          `unknown format ${JSON.stringify(opts.format)}: use one of ${EXPLORE_FORMATS.join(', ')}`,
        );
      }
      const globalCapKb = parseSize('--global-cap', opts.globalCap);
      const shrinkRuns = parseIntOption('--shrink-runs', opts.shrinkRuns, 1, 100_000);
      const maxFill = opts.maxFill ? parseIntOption('--max-fill', opts.maxFill, 1) : undefined;
      const out = openOutput(opts.output);
      checkSave(opts.save);
      const limit = applyLowerLimit(opts.lowerLimit);
      const line = opts.progress ? statusLine() : undefined;
      let result;
      try {
        result = await runExplore({
          seed,
          maxMapCount: limit.maxMapCount,
          ...(cases !== undefined ? { cases } : {}),
          ...(budgetMs !== undefined ? { budgetMs } : {}),
          ...(pressure ? { pressure } : {}),
          ...(era ? { era } : {}),
          allowGlobalEffects: opts.allowGlobalEffects === true,
          globalCapKb,
          maxShrinkRuns: shrinkRuns,
          ...(maxFill ? { maxFill } : {}),
          ...(line ? { onProgress: (p: ExploreProgress) => line(progressText(p, seed)) } : {}),
        });
      } finally {
        line?.end();
        limit.lowered?.restore();
      }
      result.notes.push(...limitNotes(limit));
      let saved;
      if (opts.save !== undefined) {
        const files = new Map<string, string>();
        for (const f of result.findings) {
          files.set(
            f.signature,
            saveScenario(opts.save, f.scenario, {
              tool: 'mremap-probe',
              version: packageVersion(),
              kernel: result.kernel.release,
              seed,
              generated: f.first.id,
              signature: f.signature,
              kind: f.kind,
              verdict: f.verdict,
              reason: f.reason,
              count: f.count,
            }),
          );
        }
        saved = { dir: opts.save, files };
      }
      const report = buildExploreReport({
        result,
        version: packageVersion(),
        options: {
          ...(cases !== undefined ? { cases } : {}),
          budgetMs: budgetMs ?? 60_000,
          ...(pressure ? { pressure } : {}),
        },
        allowGlobalEffects: opts.allowGlobalEffects === true,
        ...(saved ? { saved } : {}),
      });
      emit(renderExplore(report, opts.format), out);
      process.exitCode = exploreExitCode(report);
    });
}

/** Checks --save DIR before any work (a usage error when it cannot be written). */
export function checkSave(dir: string | undefined): void {
  if (dir === undefined) return;
  try {
    checkSaveDir(dir);
  } catch (err) {
    throw new UsageError((err as ScenarioFileError).message);
  }
}

/**
 * Writes the findings of an explore report made elsewhere (a guest's) as
 * scenario files in `dir`, and points the report's files and repro commands
 * at them.
 */
export function saveReportFindings(dir: string, r: ExploreReport, command: string): void {
  for (const f of r.findings) {
    f.file = saveScenario(dir, f.scenario, findingOrigin(r, f, command, r.kernel.release));
    f.repro = reproCommand(f.scenario.id, dir);
    if (f.case.repro) f.case.repro = f.repro;
  }
  r.notes = r.notes.filter((n) => !n.startsWith('the repro commands read'));
}
