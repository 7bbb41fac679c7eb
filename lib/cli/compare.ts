// `mremap-probe compare`: two saved run reports, case by case.
import type { Command } from 'commander';
import { compareReports } from '../report/matrix.js';
import { emit, EXIT, loadRunReport, toJson } from './common.js';

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('compare two saved run reports (JSON) case by case')
    .argument('<a>', 'a run report (run --format json)')
    .argument('<b>', 'another')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Both files are checked whole against the run report's JSON Schema first; a file
that does not validate, or is larger than 64 MiB, is a usage error naming the
first violation. Reports judged by different era models (--era) are compared,
with a note that the models differ.
Exit status: 0 when every common case has the same outcome, 1 when some differ, 2 on a usage error.`,
    )
    .action((a: string, b: string, opts: { json?: boolean }) => {
      const ra = loadRunReport(a);
      const rb = loadRunReport(b);
      const d = compareReports(ra, rb);
      // Verdicts judged by different era models differ by the model as well as by the kernel.
      const eras =
        ra.era.judgedBy === rb.era.judgedBy
          ? undefined
          : `A was judged by the ${ra.era.judgedBy} model and B by the ${rb.era.judgedBy} model: outcomes may differ because the models differ, not only the kernels`;
      if (opts.json)
        emit(
          toJson({
            a: ra.kernel.release,
            b: rb.kernel.release,
            judgedBy: { a: ra.era.judgedBy, b: rb.era.judgedBy },
            ...d,
            notes: eras ? [eras] : [],
          }),
        );
      else {
        const lines = [
          `A: Linux ${ra.kernel.release}, era by behaviour ${ra.era.byBehaviour}, judged by ${ra.era.judgedBy}`,
          `B: Linux ${rb.kernel.release}, era by behaviour ${rb.era.byBehaviour}, judged by ${rb.era.judgedBy}`,
          ...(eras ? [`note: ${eras}`] : []),
          '',
        ];
        const w = Math.max(4, ...d.diffs.map((x) => x.id.length));
        for (const x of d.diffs) lines.push(`${x.id.padEnd(w)}  A: ${x.a}  B: ${x.b}`);
        if (!d.diffs.length) lines.push('every case in both reports has the same outcome');
        if (d.onlyA.length) lines.push('', `only in A: ${d.onlyA.join(', ')}`);
        if (d.onlyB.length) lines.push('', `only in B: ${d.onlyB.join(', ')}`);
        emit(`${lines.join('\n')}\n`);
      }
      process.exitCode = d.diffs.length ? EXIT.fail : EXIT.ok;
    });
}
