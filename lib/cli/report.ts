// `mremap-probe report`: render a saved run report in another format.
import type { Command } from 'commander';
import { exitCodeOf } from '../report/report.js';
import { emit, openOutput, loadRunReport } from './common.js';
import { formatReport, parseFormat } from './run.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'render a saved run report (run --format json) as table, json, ktap, junit or html',
    )
    .argument('<file>', 'the JSON report')
    .option('--format <format>', 'table, json, ktap, junit or html', 'table')
    .option('-o, --output <file>', 'write to a file')
    .addHelpText(
      'after',
      `
The file is checked whole against the run report's JSON Schema first: one that
does not validate is a usage error naming the first violation; files larger than
64 MiB are refused.
Exit status: as the run that wrote the report (0, 1 or 4); 2 on a usage error.`,
    )
    .action((file: string, opts: { format: string; output?: string }) => {
      const format = parseFormat(opts.format);
      const r = loadRunReport(file);
      const out = openOutput(opts.output);
      emit(formatReport(r, format), out);
      process.exitCode = exitCodeOf(r);
    });
}
