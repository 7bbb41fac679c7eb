// `mremap-probe repro`: a standalone C program for one case.
import type { Command } from 'commander';
import { nativeAvailable } from '../native.js';
import { packageVersion, runProbe } from '../probe.js';
import { generateRepro, sightings } from '../repro.js';
import { CliError, emit, loadCases, loadReports, openOutput, requireScenario } from './common.js';

interface Options {
  cases: string[];
  output?: string;
  report: string[];
  run: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerRepro(program: Command): void {
  program
    .command('repro')
    .description(
      'write a standalone C program (libc only) that reproduces one case, ready for a kernel bug report',
    )
    .argument('<case>', 'a case id (see `mremap-probe run --list`)')
    .option(
      '--cases <path>',
      'look the case up in these scenario files too (a file or a directory, as explore --save writes; repeatable)',
      collect,
      [],
    )
    .option('-o, --output <file>', 'write the C file here (default: standard output)')
    .option(
      '--report <file>',
      'a saved run or matrix JSON report whose failures of this case go in the header (repeatable)',
      collect,
      [],
    )
    .option(
      '--no-run',
      'do not run the case on this kernel to say in the header how it behaves here',
    )
    .addHelpText(
      'after',
      `
Build it with: cc -O2 -Wall -static -o repro repro.c
The program exits 0 when the kernel kept the invariant, 1 when it broke it, 4 when it could not run.
The header lists what every era's model predicts, so repro takes no --era or
--kernel; the run on this kernel is judged by the era its version falls in.
--report files are checked whole against the schema (run or matrix reports).
Exit status: 0 written, 1 the run on this kernel failed, 2 usage error.`,
    )
    .action(async (id: string, opts: Options) => {
      const s = requireScenario(id, loadCases(opts.cases).scenarios);
      const out = openOutput(opts.output);
      const reports = loadReports(opts.report);
      const seen = sightings(s.id, reports);
      const keptOn: string[] = [];
      // Run it here too, unless it would leave a global effect behind.
      if (opts.run && nativeAvailable() && !s.requires?.globalEffects) {
        try {
          const r = await runProbe({ scenarios: [s] });
          seen.push(...sightings(s.id, [r]));
          const c = r.cases[0]!;
          if (!c.verdict.startsWith('fail') && c.verdict !== 'skip')
            keptOn.push(`${r.kernel.release}: ${c.verdict}: ${c.reason}`);
        } catch (err) {
          throw new CliError(
            `running the case on this kernel failed: ${(err as Error).message} (use --no-run)`,
          );
        }
      }
      const quoted = (a: string) =>
        /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
      const command = ['mremap-probe', ...process.argv.slice(2)].map(quoted).join(' ');
      emit(generateRepro(s, { command, version: packageVersion(), seen, keptOn }), out);
    });
}
