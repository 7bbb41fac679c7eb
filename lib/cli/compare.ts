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
      '\nExit status: 0 when every common case has the same outcome, 1 when some differ, 2 on a usage error.',
    )
    .action((a: string, b: string, opts: { json?: boolean }) => {
      const ra = loadRunReport(a);
      const rb = loadRunReport(b);
      const d = compareReports(ra, rb);
      if (opts.json) emit(toJson({ a: ra.kernel.release, b: rb.kernel.release, ...d }));
      else {
        const lines = [
          `A: Linux ${ra.kernel.release}, era by behaviour ${ra.era.byBehaviour}`,
          `B: Linux ${rb.kernel.release}, era by behaviour ${rb.era.byBehaviour}`,
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
