// `mremap-probe matrix`: the probe under several kernels, side by side.
import { cpus } from 'node:os';
import type { Command } from 'commander';
import { packageVersion } from '../probe.js';
import {
  formatMatrixHtml,
  formatMatrixTable,
  MATRIX_SCHEMA,
  type MatrixReport,
} from '../report/matrix.js';
import { checkVmRequirements } from '../vm/guest.js';
import { runMatrix, type MatrixSpec } from '../vm/matrix.js';
import { emit, EXIT, openOutput, parseIntOption, toJson, UsageError } from './common.js';
import { checkKernelImage } from './era.js';
import {
  addGuestOptions,
  collect,
  guestOptions,
  splitList,
  type GuestOpts,
} from './guest-options.js';

export function registerMatrix(program: Command): void {
  addGuestOptions(
    program
      .command('matrix')
      .description('run the probe under several kernels and lay the verdicts side by side')
      .option(
        '--kernel <paths>',
        'kernel images, comma-separated (repeatable): files, or what `kernels build` printed',
        collect,
        [],
      )
      .option(
        '--debian <specs>',
        'Debian kernels, comma-separated (repeatable): 5.10,6.12,sid',
        collect,
        [],
      )
      .option(
        '-j, --jobs <n>',
        `guests booted at once (default: the number of CPUs, ${cpus().length})`,
      )
      .option('--format <format>', 'table, md, html or json', 'table')
      .option('-o, --output <file>', 'write the matrix to a file'),
  )
    .addHelpText(
      'after',
      `
Each column's header says where its kernel came from: a Debian package and its
version, the tree and version \`kernels build\` built it from, or a file.
--kernel is an image to boot (a version such as 6.12 goes in --debian); each
kernel's cases are judged by the era its version falls in, unless --era names
one era for all. --output is checked before the first guest boots.
Exit status: 0 nothing failed in any kernel, 1 a case failed or a kernel gave no report,
2 usage error, 4 could not run here (QEMU or busybox missing).`,
    )
    .action(
      async (
        opts: GuestOpts & {
          kernel: string[];
          debian: string[];
          jobs?: string;
          format: string;
          output?: string;
        },
      ) => {
        if (!['table', 'md', 'html', 'json'].includes(opts.format)) {
          throw new UsageError(
            `unknown format ${JSON.stringify(opts.format)}: use one of table, md, html, json`,
          );
        }
        const specs: MatrixSpec[] = [
          ...splitList(opts.kernel).map((k) => {
            checkKernelImage(k);
            return { kernel: k };
          }),
          ...splitList(opts.debian).map((d) => ({ debian: d })),
        ];
        if (!specs.length)
          throw new UsageError('give kernels with --kernel PATH,... or --debian 5.10,6.12,sid');
        const jobs = opts.jobs ? parseIntOption('--jobs', opts.jobs, 1, 64) : cpus().length;
        const o = guestOptions(opts);
        const out = openOutput(opts.output);
        // Before the first kernel: a missing tool ends the command, not one column.
        checkVmRequirements();
        const t0 = performance.now();
        const startedAt = new Date();
        const kernels = await runMatrix(specs, { ...o, jobs });
        const m: MatrixReport = {
          schema: MATRIX_SCHEMA,
          tool: { name: 'mremap-probe', version: packageVersion() },
          startedAt: startedAt.toISOString(),
          elapsedMs: Math.round(performance.now() - t0),
          kernels,
        };
        o.log?.(
          `${kernels.length} kernels in ${(m.elapsedMs / 1000).toFixed(1)} s, ${jobs} at a time`,
        );
        const text =
          opts.format === 'json'
            ? toJson(m)
            : opts.format === 'html'
              ? formatMatrixHtml(m)
              : formatMatrixTable(m, opts.format === 'md');
        emit(text, out);
        const failed = kernels.some((k) => k.error || (k.report && k.report.summary.failed));
        process.exitCode = failed ? EXIT.fail : EXIT.ok;
      },
    );
}
