// `mremap-probe run`: the main job.
import type { Command } from 'commander';
import { runProbe } from '../probe.js';
import { formatHtml } from '../report/html.js';
import { formatJunit } from '../report/junit.js';
import { formatKtap } from '../report/ktap.js';
import { exitCodeOf, type RunReport } from '../report/report.js';
import { formatTable } from '../report/table.js';
import { catalogue, filterScenarios, FAMILIES } from '../scenarios/index.js';
import { pressureText, type Scenario } from '../scenarios/types.js';
import { emit, loadCases, openOutput, parseIntOption, toJson, UsageError } from './common.js';
import { ERA_OPTION_HELP, parseEra } from './era.js';
import { applyLowerLimit, limitNotes } from './limits.js';
import { progressBar } from './progress.js';

export const FORMATS = ['table', 'json', 'ktap', 'junit', 'html'] as const;
export type Format = (typeof FORMATS)[number];

export function formatReport(r: RunReport, format: Format): string {
  switch (format) {
    case 'json':
      return toJson(r);
    case 'ktap':
      return formatKtap(r);
    case 'junit':
      return formatJunit(r);
    case 'html':
      return formatHtml(r);
    default:
      return formatTable(r);
  }
}

interface Options {
  filter: string[];
  cases: string[];
  format: string;
  output?: string;
  era?: string;
  list?: boolean;
  lowerLimit?: string;
  maxFill?: string;
  allowGlobalEffects?: boolean;
  progress: boolean;
}

export function parseFormat(f: string): Format {
  if (!(FORMATS as readonly string[]).includes(f)) {
    throw new UsageError(`unknown format ${JSON.stringify(f)}: use one of ${FORMATS.join(', ')}`);
  }
  return f as Format;
}

export function selectScenarios(filters: string[], extra: Scenario[] = []) {
  let chosen;
  try {
    chosen = filterScenarios([...catalogue(), ...extra], filters);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!chosen.length) {
    throw new UsageError(
      `no case matches ${filters.map((f) => JSON.stringify(f)).join(', ')} (see \`mremap-probe run --list\`)`,
    );
  }
  return chosen;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      "run the scenario catalogue on this kernel and judge each case against its era's model",
    )
    .option(
      '--filter <glob>',
      'run only the cases whose id matches (* within a segment, ** across; repeatable)',
      collect,
      [],
    )
    .option(
      '--cases <path>',
      'also run the scenario files there (a file, or a directory such as explore --save writes; repeatable)',
      collect,
      [],
    )
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'table')
    .option('-o, --output <file>', 'write the report to a file (written whole, or not at all)')
    .option('--era <id>', ERA_OPTION_HELP)
    .option(
      '--list',
      'list the cases (after --filter) and what each exercises, without running them',
    )
    .option(
      '--lower-limit <n>',
      'as root: lower vm.max_map_count to n for the run, then restore it',
    )
    .option(
      '--max-fill <n>',
      'fill at most this many VMAs; a larger vm.max_map_count skips the pressure cases',
    )
    .option(
      '--allow-global-effects',
      'also run the accounting invariants, which leave Committed_AS changed for good on a kernel that leaks',
    )
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
Verdicts: pass; fail:destroyed (an error return destroyed mappings or pages);
fail:model (nothing destroyed, but not what the era's model predicts);
skip (with the reason); broken (the harness could not run the case).
The kernel is this machine's; its version names the era whose model judges the
cases, unless --era names another.
--lower-limit N (root): N must be below the current vm.max_map_count (else a
usage error). The original is recorded in /run/mremap-probe/max_map_count.json
before the sysctl is written, and the run holds an exclusive lock on that
directory until it has put the limit back: a second --lower-limit run refuses
at once (exit 4), naming the pid that holds it. After a kill -9, every command
says the limit was left lowered; \`mremap-probe restore\` (root) puts it back.
--output: checked before the first case; see \`mremap-probe --help\` for what
may be written and how. --list prints the cases as a table, or with --format
json as a list of {id, family, summary, pressure}.
Exit status: 0 nothing failed, 1 something failed, 2 usage error, 4 everything
skipped or could not run here. A reader that goes away (| head -1) ends the
output quietly with the same status.
Case ids: family/dst-X/old-Y/size[+modifier]@pressure, e.g. fixed/dst-mid/old-mid/shrink@M-5.
With --cases DIR the scenario files there run beside the catalogue; --filter 'explore/**'
runs only the ones explore saved. A bad file is named with its first problem (exit 2).`,
    )
    .action(async (opts: Options) => {
      const format = parseFormat(opts.format);
      const era = parseEra(opts.era);
      const loaded = loadCases(opts.cases);
      const scenarios = selectScenarios(opts.filter, loaded.scenarios);
      if (opts.list && format !== 'table' && format !== 'json')
        throw new UsageError(`--list prints table or json, not ${format}`);
      const out = openOutput(opts.output);
      if (opts.list) {
        if (format === 'json') {
          emit(
            toJson(
              scenarios.map((s) => ({
                id: s.id,
                family: s.family,
                summary: s.summary,
                pressure: pressureText(s.pressure),
              })),
            ),
            out,
          );
          return;
        }
        const lines = scenarios.map((s) => `${s.id}\n    ${s.summary}`);
        const fams = [...new Set(scenarios.map((s) => s.family))].map((f) => {
          const fam = FAMILIES.find((x) => x.name === f);
          return `${f}: ${fam ? fam.exercises : 'scenario files (--cases)'}`;
        });
        emit(
          `${lines.join('\n')}\n\n${scenarios.length} cases (pressure: ${[...new Set(scenarios.map((s) => pressureText(s.pressure)))].join(', ')})\n\nfamilies:\n${fams.map((f) => `  ${f}`).join('\n')}\n`,
          out,
        );
        return;
      }
      const maxFill = opts.maxFill ? parseIntOption('--max-fill', opts.maxFill, 1) : undefined;
      const limit = applyLowerLimit(opts.lowerLimit);
      try {
        const bar = opts.progress ? progressBar('running') : undefined;
        const report = await runProbe({
          scenarios,
          ...(era ? { era } : {}),
          maxMapCount: limit.maxMapCount,
          loweredFrom: limit.lowered ? limit.lowered.original : null,
          notes: limitNotes(limit),
          ...(maxFill ? { maxFill } : {}),
          ...(opts.allowGlobalEffects ? { allowGlobalEffects: true } : {}),
          ...(loaded.from.size ? { casesFrom: loaded.from } : {}),
          ...(bar ? { onCase: (d: number, t: number, s: { id: string }) => bar(d, t, s.id) } : {}),
        });
        bar?.end();
        emit(formatReport(report, format), out);
        process.exitCode = exitCodeOf(report);
      } finally {
        limit.lowered?.restore();
      }
    });
}
