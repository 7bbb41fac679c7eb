// `mremap-probe matrix`: the probe under several kernels, side by side.
import { cpus } from 'node:os';
import type { Command } from 'commander';
import { packageVersion } from '../probe.js';
import { reproCommand } from '../report/report.js';
import {
  formatMatrixHtml,
  formatMatrixTable,
  MATRIX_SCHEMA,
  type MatrixReport,
} from '../report/matrix.js';
import type { GuestArch } from '../vm/arch.js';
import { checkVmRequirements, kernelFileArch } from '../vm/guest.js';
import { parseDebianSpec, specFitsArch } from '../vm/kernels.js';
import { exploreMatrix, runMatrix, type MatrixSpec } from '../vm/matrix.js';
import { writeFileWhole } from '../output.js';
import { join } from 'node:path';
import { emit, EXIT, openOutput, parseIntOption, toJson, UsageError } from './common.js';
import { checkKernelImage } from './era.js';
import { checkSave } from './explore.js';
import {
  addExploreOptions,
  addGuestOptions,
  ARCH_HELP,
  collect,
  exploreChoice,
  guestOptions,
  parseArch,
  splitList,
  type ExploreOpts,
  type GuestOpts,
} from './guest-options.js';

/**
 * The Debian columns: each spec for each architecture, side by side per
 * spec; a flavour one architecture has only (6.12:16k) for that one only.
 */
export function debianColumns(debian: string[], arches: GuestArch[]): MatrixSpec[] {
  return debian.flatMap((d) => {
    const fits = arches.filter((a) => specFitsArch(d, a));
    // No architecture has it: the error names the flavours there are.
    if (!fits.length) parseDebianSpec(d, arches[0]!);
    return fits.map((arch) => {
      parseDebianSpec(d, arch);
      return { debian: d, arch };
    });
  });
}

export function registerMatrix(program: Command): void {
  addGuestOptions(
    addExploreOptions(program.command('matrix'))
      .description('run the probe under several kernels and lay the verdicts side by side')
      .option(
        '--kernel <paths>',
        'kernel images, comma-separated (repeatable): files, or what `kernels build` printed',
        collect,
        [],
      )
      .option(
        '--debian <specs>',
        'Debian kernels, comma-separated (repeatable): 5.10,6.12,sid; :16k for the arm64-16k flavour (6.12:16k)',
        collect,
        [],
      )
      .option(
        '--arch <arches>',
        `architectures of the Debian kernels, comma-separated (repeatable): ${ARCH_HELP}`,
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
version, the tree and version \`kernels build\` built it from, or a file; and
the architecture and page size the guest ran with. Every --debian kernel is
booted for every --arch (x86_64 and arm64 side by side per kernel; a flavour
only one architecture has, like :16k, for that one); a --kernel image boots on
its own architecture (a bzImage on x86_64, an arm64 Image on arm64).
arm64 guests need qemu-system-aarch64 (apt-get install qemu-system-arm) and
boot under TCG on other machines; their user space is Debian's arm64 nodejs and
busybox-static, fetched and cached.
--kernel is an image to boot (a version such as 6.12 goes in --debian); each
kernel's cases are judged by the era its version falls in, unless --era names
one era for all. --output is checked before the first guest boots.
--explore 120s: two rounds. Each kernel explores for that long with one seed
(--seed, else a random one), then each boots again to run the findings of
all of them (each once, as scenario files under /cases), so that each row is
a finding and each cell says whether it holds on that kernel. Below the
table: each kernel's explore, and each finding with the kernels whose
explore found it. --save DIR writes the findings' scenario files here.
Exit status: 0 nothing failed in any kernel (with --explore: no finding),
1 a case failed, a finding was made or a kernel gave no report,
2 usage error, 4 could not run here (QEMU or busybox missing).`,
    )
    .action(
      async (
        opts: GuestOpts &
          ExploreOpts & {
            kernel: string[];
            debian: string[];
            arch: string[];
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
        const arches = [...new Set(splitList(opts.arch).map(parseArch))];
        if (!arches.length) arches.push('x86_64');
        const files = splitList(opts.kernel).map((k) => {
          checkKernelImage(k);
          return { kernel: k, arch: kernelFileArch(k) };
        });
        const specs: MatrixSpec[] = [...files, ...debianColumns(splitList(opts.debian), arches)];
        if (!specs.length)
          throw new UsageError('give kernels with --kernel PATH,... or --debian 5.10,6.12,sid');
        const explore = exploreChoice(opts);
        const jobs = opts.jobs ? parseIntOption('--jobs', opts.jobs, 1, 64) : cpus().length;
        const o = guestOptions(opts);
        const out = openOutput(opts.output);
        checkSave(opts.save);
        // Before the first kernel: a missing tool ends the command, not one column.
        checkVmRequirements(
          specs.map((s) => s.arch ?? 'x86_64'),
          o.accel,
        );
        const t0 = performance.now();
        const startedAt = new Date();
        let kernels;
        let explored;
        if (explore) {
          const e = await exploreMatrix(specs, { ...o, jobs, explore });
          kernels = e.kernels;
          explored = { ...e.explore, saved: opts.save ?? null };
          if (opts.save !== undefined)
            for (const [name, text] of e.files) writeFileWhole(join(opts.save, name), text);
          // The guests read the findings from /cases; here they are in --save DIR.
          for (const k of kernels)
            for (const c of k.report?.cases ?? [])
              if (c.repro) c.repro = reproCommand(c.id, opts.save ?? 'DIR');
        } else kernels = await runMatrix(specs, { ...o, jobs });
        const m: MatrixReport = {
          schema: MATRIX_SCHEMA,
          tool: { name: 'mremap-probe', version: packageVersion() },
          startedAt: startedAt.toISOString(),
          elapsedMs: Math.round(performance.now() - t0),
          kernels,
          ...(explored ? { explore: explored } : {}),
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
        const failed =
          kernels.some((k) => k.error || (k.report && k.report.summary.failed)) ||
          (explored?.findings.length ?? 0) > 0;
        process.exitCode = failed ? EXIT.fail : EXIT.ok;
      },
    );
}
