// `mremap-probe vm`, `matrix`, `kernels` and `compare`: the probe under other kernels.
import type { Command } from 'commander';
import { packageVersion } from '../probe.js';
import {
  compareReports,
  formatMatrixHtml,
  formatMatrixTable,
  MATRIX_SCHEMA,
  type MatrixKernel,
  type MatrixReport,
} from '../report/matrix.js';
import { exitCodeOf } from '../report/report.js';
import { DEFAULT_GUEST_LIMIT, runInVm, checkVmRequirements, type VmOptions } from '../vm/guest.js';
import { RequirementError } from '../vm/initramfs.js';
import { fetchKernel, KernelSpecError, listKernels } from '../vm/kernels.js';
import {
  emit,
  EXIT,
  loadRunReport,
  openOutput,
  parseIntOption,
  toJson,
  UsageError,
} from './common.js';
import { checkKernelImage, ERA_OPTION_HELP, parseEra } from './era.js';
import { formatReport, parseFormat, selectScenarios } from './run.js';

const collect = (v: string, prev: string[]) => [...prev, v];

interface CommonVmOpts {
  filter: string[];
  era?: string;
  accel: string;
  memory?: string;
  timeout?: string;
  guestLimit?: string;
  mirror?: string;
  console?: boolean;
}

function addVmOptions(c: Command): Command {
  return c
    .option('--filter <glob>', 'run only the matching cases (repeatable)', collect, [])
    .option('--era <id>', ERA_OPTION_HELP)
    .option('--accel <kind>', 'auto (KVM when it works, else TCG), kvm or tcg', 'auto')
    .option('--memory <mb>', 'guest memory in MiB (default 2048)')
    .option('--timeout <s>', 'give up on a guest after this many seconds (default 600)')
    .option(
      '--guest-limit <n>',
      `vm.max_map_count inside the guest, which is thrown away (default ${DEFAULT_GUEST_LIMIT})`,
    )
    .option(
      '--mirror <url>',
      "Debian mirror for --debian (default: the one in this machine's apt configuration)",
    )
    .option('--console', "show the guest's console on standard error");
}

function vmOptions(o: CommonVmOpts): VmOptions {
  parseEra(o.era);
  if (!['auto', 'kvm', 'tcg'].includes(o.accel))
    throw new UsageError(`--accel is auto, kvm or tcg, not ${JSON.stringify(o.accel)}`);
  if (o.filter.length) selectScenarios(o.filter);
  const log = (s: string) => process.stderr.write(`mremap-probe: ${s}\n`);
  return {
    filters: o.filter,
    ...(o.era ? { era: o.era } : {}),
    accel: o.accel as VmOptions['accel'],
    ...(o.memory ? { memoryMb: parseIntOption('--memory', o.memory, 256, 65536) } : {}),
    ...(o.timeout ? { timeoutMs: parseIntOption('--timeout', o.timeout, 10) * 1000 } : {}),
    ...(o.guestLimit ? { guestLimit: parseIntOption('--guest-limit', o.guestLimit, 1024) } : {}),
    ...(o.mirror ? { mirror: o.mirror } : {}),
    log,
    ...(o.console ? { onConsole: (l: string) => process.stderr.write(`  guest| ${l}\n`) } : {}),
  };
}

export function registerVm(program: Command): void {
  addVmOptions(
    program
      .command('vm')
      .description(
        'boot another kernel under QEMU with a guest the probe builds, run the catalogue there, and print the report',
      )
      .option(
        '--kernel <path>',
        'a kernel image (bzImage/vmlinuz) to boot; its version names the era that judges it, unless --era',
      )
      .option(
        '--debian <spec>',
        'a Debian cloud kernel: a series (5.10, 6.1, 6.12, 7) or a suite (bullseye, bookworm, trixie, sid, experimental)',
      )
      .option('--format <format>', 'table, json, ktap, junit or html', 'table')
      .option('-o, --output <file>', 'write the report to a file'),
  )
    .addHelpText(
      'after',
      `
Needs qemu-system-x86_64 and a static busybox (apt-get install qemu-system-x86 busybox-static).
Inside the guest the probe runs as root with vm.max_map_count lowered (--guest-limit)
and the accounting invariants enabled: the guest is thrown away afterwards.
Without this tool, virtme-ng does the same: vng --run KERNEL -- npx mremap-probe run --format json
--kernel is an image to boot (a version such as 6.12 is --debian 6.12); the
era whose model judges the guest's cases follows its version unless --era is
given. --output is checked before the guest boots.
Exit status: as run (0, 1, 4); 2 on a usage error.`,
    )
    .action(
      async (
        opts: CommonVmOpts & { kernel?: string; debian?: string; format: string; output?: string },
      ) => {
        const format = parseFormat(opts.format);
        if (!opts.kernel === !opts.debian)
          throw new UsageError('give exactly one of --kernel PATH and --debian SPEC');
        if (opts.kernel) checkKernelImage(opts.kernel);
        const o = vmOptions(opts);
        const out = openOutput(opts.output);
        // runInVm() checks the requirements first.
        const r = await runInVm({
          ...o,
          ...(opts.kernel ? { kernel: opts.kernel } : { debian: opts.debian! }),
        });
        o.log?.(
          `Linux ${r.report.kernel.release}: ${(r.elapsedMs / 1000).toFixed(1)} s (${r.accel})`,
        );
        emit(formatReport(r.report, format), out);
        process.exitCode = exitCodeOf(r.report);
      },
    );

  addVmOptions(
    program
      .command('matrix')
      .description('run the probe under several kernels and lay the verdicts side by side')
      .option(
        '--kernel <path>',
        "a kernel image to boot (repeatable); each one's version names the era that judges it, unless --era",
        collect,
        [],
      )
      .option('--debian <specs>', 'Debian kernels, comma-separated: 5.10,6.12,sid')
      .option('--format <format>', 'table, md, html or json', 'table')
      .option('-o, --output <file>', 'write the matrix to a file'),
  )
    .addHelpText(
      'after',
      `
--kernel is an image to boot (a version such as 6.12 goes in --debian); each
kernel's cases are judged by the era its version falls in, unless --era names
one era for all. --output is checked before the first guest boots.
Exit status: 0 nothing failed, 1 a kernel failed a case or could not be run,
2 usage error, 4 could not run here (QEMU or busybox missing).`,
    )
    .action(
      async (
        opts: CommonVmOpts & { kernel: string[]; debian?: string; format: string; output?: string },
      ) => {
        if (!['table', 'md', 'html', 'json'].includes(opts.format)) {
          throw new UsageError(
            `unknown format ${JSON.stringify(opts.format)}: use one of table, md, html, json`,
          );
        }
        for (const k of opts.kernel) checkKernelImage(k);
        const specs: { kernel?: string; debian?: string }[] = [
          ...opts.kernel.map((k) => ({ kernel: k })),
          ...(opts.debian ?? '')
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
            .map((d) => ({ debian: d })),
        ];
        if (!specs.length)
          throw new UsageError(
            'give kernels with --kernel PATH (repeatable) or --debian 5.10,6.12,sid',
          );
        const o = vmOptions(opts);
        const out = openOutput(opts.output);
        // Before the first kernel: a missing tool ends the command, not one column.
        checkVmRequirements();
        const t0 = performance.now();
        const startedAt = new Date();
        const kernels: MatrixKernel[] = [];
        for (const [i, spec] of specs.entries()) {
          const name = spec.kernel ?? spec.debian!;
          o.log?.(`[${i + 1}/${specs.length}] ${name}`);
          const k0 = performance.now();
          try {
            const r = await runInVm({ ...o, ...spec });
            kernels.push({
              spec: name,
              release: r.report.kernel.release,
              ...(r.debian ? { package: `${r.debian.package} ${r.debian.packageVersion}` } : {}),
              accel: r.accel,
              elapsedMs: Math.round(r.elapsedMs),
              report: r.report,
              error: null,
            });
            o.log?.(
              `[${i + 1}/${specs.length}] Linux ${r.report.kernel.release}: era by behaviour ${r.report.era.byBehaviour}, ${(r.elapsedMs / 1000).toFixed(1)} s`,
            );
          } catch (err) {
            if (err instanceof RequirementError || err instanceof KernelSpecError) throw err;
            const msg = (err as Error).message;
            o.log?.(`[${i + 1}/${specs.length}] ${name}: ${msg.split('\n')[0]}`);
            kernels.push({
              spec: name,
              release: null,
              elapsedMs: Math.round(performance.now() - k0),
              report: null,
              error: msg,
            });
          }
        }
        const m: MatrixReport = {
          schema: MATRIX_SCHEMA,
          tool: { name: 'mremap-probe', version: packageVersion() },
          startedAt: startedAt.toISOString(),
          elapsedMs: Math.round(performance.now() - t0),
          kernels,
        };
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

  const kernels = program
    .command('kernels')
    .description('fetch Debian kernels for `vm` and `matrix`, and list the cache');
  kernels
    .command('fetch')
    .description(
      'download Debian cloud-amd64 kernels (apt-get with a private sources list; signed indexes) and cache their vmlinuz',
    )
    .argument(
      '<spec...>',
      'series (5.10, 6.1, 6.12, 7) or suites (bullseye, bookworm, bookworm-backports, trixie, sid, experimental)',
    )
    .option(
      '--mirror <url>',
      "Debian mirror (default: the one in this machine's apt configuration)",
    )
    .option('--json', 'print JSON')
    .action(async (specs: string[], opts: { mirror?: string; json?: boolean }) => {
      const out = [];
      for (const s of specs) {
        out.push(
          await fetchKernel(s, {
            ...(opts.mirror ? { mirror: opts.mirror } : {}),
            log: (l) => process.stderr.write(`mremap-probe: ${l}\n`),
          }),
        );
      }
      emit(
        opts.json
          ? toJson(out)
          : out
              .map(
                (k) => `${k.release}  ${k.package} ${k.packageVersion} (${k.suite})  ${k.vmlinuz}`,
              )
              .join('\n') + '\n',
      );
    });
  kernels
    .command('list')
    .description('list the cached kernels')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const list = listKernels();
      if (opts.json) emit(toJson(list));
      else if (!list.length)
        emit('no kernels cached: `mremap-probe kernels fetch 6.12` fetches one\n');
      else
        emit(
          list
            .map(
              (k) =>
                `${k.release.padEnd(32)} ${k.package} ${k.packageVersion} (${k.suite}), fetched ${k.fetchedAt.slice(0, 10)}`,
            )
            .join('\n') + '\n',
        );
    });

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
