// `mremap-probe vm`: boot one kernel, run the catalogue inside, print the report.
import type { Command } from 'commander';
import { exitCodeOf } from '../report/report.js';
import { exploreExitCode } from '../report/explore.js';
import { exploreInVm, runInVm } from '../vm/guest.js';
import { parseDebianSpec } from '../vm/kernels.js';
import { emit, openOutput, UsageError } from './common.js';
import { checkKernelImage } from './era.js';
import { checkSave, EXPLORE_FORMATS, renderExplore, saveReportFindings } from './explore.js';
import {
  addExploreOptions,
  addGuestOptions,
  ARCH_HELP,
  exploreChoice,
  guestOptions,
  parseArch,
  type ExploreOpts,
  type GuestOpts,
} from './guest-options.js';
import { formatReport, parseFormat } from './run.js';

export function registerVm(program: Command): void {
  addGuestOptions(
    addExploreOptions(program.command('vm'))
      .description(
        'boot another kernel under QEMU with a guest the probe builds, run the catalogue there, and print the report',
      )
      .option(
        '--kernel <path>',
        'a kernel image to boot (an x86 bzImage or an arm64 Image); its version names the era that judges it, unless --era',
      )
      .option(
        '--debian <spec>',
        'a Debian kernel: a series (5.10, 6.1, 6.12, 7) or a suite (bullseye, bookworm, trixie, sid, experimental); the cloud flavour, or :16k for arm64-16k (6.12:16k)',
      )
      .option(
        '--arch <arch>',
        `the guest's architecture: ${ARCH_HELP}; another than this machine's boots under TCG; a --kernel image boots on its own`,
      )
      .option(
        '--format <format>',
        'table, json, ktap, junit or html (with --explore: table, json or html)',
        'table',
      )
      .option('-o, --output <file>', 'write the report to a file'),
  )
    .addHelpText(
      'after',
      `
Needs qemu-system-x86_64 and a static busybox (apt-get install qemu-system-x86 busybox-static);
for arm64 guests qemu-system-aarch64 (apt-get install qemu-system-arm), apt-get and dpkg-deb:
their node, busybox and libraries are Debian's arm64 packages, fetched and cached, and the
addon is the arm64 prebuild (built with npm run build:prebuilds in a clone when missing).
arm64 guests boot on QEMU's virt machine with -cpu max (4, 16 and 64 KiB pages).
Inside the guest the probe runs as root with vm.max_map_count lowered (--guest-limit)
and the accounting invariants enabled: the guest is thrown away afterwards. QEMU is
stopped as soon as the guest's report has arrived and matches its checksum.
A kernel of your own: mremap-probe kernels build --source DIR, then --kernel with the
path it prints.
Without this tool, virtme-ng does the same: vng --run KERNEL -- npx mremap-probe run --format json
--kernel is an image to boot (a version such as 6.12 is --debian 6.12); the
era whose model judges the guest's cases follows its version unless --era is
given. --output is checked before the guest boots.
--explore 120s runs \`explore --seed N --budget 120s\` in the guest instead of
the catalogue (the limit lowered, no cap on global effects: the guest is
thrown away) and prints its explore report; --save DIR writes its findings
here as scenario files for run/repro/explain --cases. The same seed on
another kernel explores the same cases: matrix --explore runs every
kernel's findings on the others.
Exit status: as run (0, 1, 4), or as explore with --explore (1: findings); 2 on a usage error.`,
    )
    .action(
      async (
        opts: GuestOpts &
          ExploreOpts & {
            kernel?: string;
            debian?: string;
            arch?: string;
            format: string;
            output?: string;
          },
      ) => {
        const explore = exploreChoice(opts);
        if (explore && !(EXPLORE_FORMATS as readonly string[]).includes(opts.format))
          throw new UsageError(
            `--explore writes an explore report: use --format ${EXPLORE_FORMATS.join(', ')}, not ${JSON.stringify(opts.format)}`,
          );
        // A run report's format, checked before the guest boots.
        const format = explore ? undefined : parseFormat(opts.format);
        if (!opts.kernel === !opts.debian)
          throw new UsageError('give exactly one of --kernel PATH and --debian SPEC');
        const arch = opts.arch !== undefined ? parseArch(opts.arch) : undefined;
        const o = guestOptions(opts);
        if (opts.kernel) checkKernelImage(opts.kernel);
        else parseDebianSpec(opts.debian!, arch ?? 'x86_64');
        const out = openOutput(opts.output);
        checkSave(opts.save);
        const which = {
          ...(opts.kernel ? { kernel: opts.kernel } : { debian: opts.debian! }),
          ...(arch ? { arch } : {}),
        };
        if (explore) {
          const r = await exploreInVm({ ...o, ...which, explore });
          o.log?.(
            `Linux ${r.explore.kernel.release} (${r.explore.kernel.arch}, ${r.origin}): explore seed ${explore.seed}, ${r.explore.cases.run} cases, ${r.explore.summary.findings} finding(s), ${(r.elapsedMs / 1000).toFixed(1)} s (${r.accel})`,
          );
          if (opts.save !== undefined) saveReportFindings(opts.save, r.explore, 'vm --explore');
          emit(renderExplore(r.explore, opts.format), out);
          process.exitCode = exploreExitCode(r.explore);
          return;
        }
        // runInVm() checks the requirements first.
        const r = await runInVm({ ...o, ...which });
        o.log?.(
          `Linux ${r.report.kernel.release} (${r.report.kernel.arch}, ${r.origin}): ${(r.elapsedMs / 1000).toFixed(1)} s (${r.accel})`,
        );
        emit(formatReport(r.report, format!), out);
        process.exitCode = exitCodeOf(r.report);
      },
    );
}
