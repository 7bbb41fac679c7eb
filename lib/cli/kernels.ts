// `mremap-probe kernels`: fetch Debian kernels, build one from a tree, list the cache.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Command } from 'commander';
import { buildKernel, GUEST_CONFIG } from '../vm/build.js';
import { fetchKernel, listKernels, parseDebianSpec, type CachedKernel } from '../vm/kernels.js';
import { emit, openOutput, parseIntOption, toJson, UsageError } from './common.js';
import { ARCH_HELP, log, parseArch } from './guest-options.js';

function describe(k: CachedKernel): string {
  if (k.built)
    return `built from ${k.built.source} (${k.built.describe}) in ${k.built.buildSeconds} s`;
  return `${k.package} ${k.packageVersion} (${k.suite}, ${k.arch ?? 'x86_64'})`;
}

/** Progress of a build on standard error: one line redrawn on a terminal, a line every 15 s elsewhere. */
function buildProgress(): { onStep: (n: number, step: string) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  const t0 = Date.now();
  let last = 0;
  return {
    onStep(n, step) {
      const now = Date.now();
      if (now - last < (tty ? 100 : 15_000)) return;
      last = now;
      const line = `building: ${Math.round((now - t0) / 1000)} s, ${n} steps, ${step}`;
      if (tty) {
        const cols = process.stderr.columns ?? 100;
        process.stderr.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
      } else log(line);
    },
    end() {
      if (tty && last)
        process.stderr.write(`\r${' '.repeat((process.stderr.columns ?? 100) - 1)}\r`);
    },
  };
}

export function registerKernels(program: Command): void {
  const kernels = program
    .command('kernels')
    .description(
      'fetch Debian kernels or build one from a tree, for `vm` and `matrix`; list the cache',
    );
  kernels
    .command('fetch')
    .description(
      'download Debian kernels (cloud-amd64; cloud-arm64 or arm64-16k with --arch arm64) through apt-get with a private sources list (signed indexes), and cache their image',
    )
    .argument(
      '<spec...>',
      'series (5.10, 6.1, 6.12, 7) or suites (bullseye, bookworm, bookworm-backports, trixie, sid, experimental), then :16k for the arm64-16k flavour (6.12:16k)',
    )
    .option('--arch <arch>', `the architecture to fetch for: ${ARCH_HELP}`, 'x86_64')
    .option(
      '--mirror <url>',
      "Debian mirror (default: the one in this machine's apt configuration)",
    )
    .option('--json', 'print JSON')
    .action(async (specs: string[], opts: { mirror?: string; json?: boolean; arch: string }) => {
      const arch = parseArch(opts.arch);
      for (const s of specs) parseDebianSpec(s, arch);
      const out = [];
      for (const s of specs)
        out.push(
          await fetchKernel(s, { arch, ...(opts.mirror ? { mirror: opts.mirror } : {}), log }),
        );
      emit(
        opts.json
          ? toJson(out)
          : out.map((k) => `${k.release}  ${describe(k)}  ${k.vmlinuz}`).join('\n') + '\n',
      );
    });
  kernels
    .command('build')
    .description(
      "build an x86-64 bzImage for the guest from a kernel tree (4.14 to today's), out of tree, and cache it",
    )
    .requiredOption(
      '--source <dir>',
      'the kernel tree (left clean: the build goes to a directory of its own)',
    )
    .option('-o, --output <file>', 'also copy the bzImage here')
    .option('-j, --jobs <n>', `parallel make jobs (default: the number of CPUs, ${cpus().length})`)
    .option('--config-fragment <file>', 'Kconfig lines applied after the guest configuration')
    .option('--json', 'print the cache entry as JSON')
    .addHelpText(
      'after',
      `
The configuration: \`make tinyconfig\`, then the guest's needs, one option per line with
its reason, in ${GUEST_CONFIG}, then --config-fragment, then \`make olddefconfig\`; an option
the tree has that did not hold is an error. Trees before 5.19 get the known workarounds for
gcc 12 (objtool off, HOSTCFLAGS=-Wno-error), said on standard error. ccache is used when
installed. The build directory (O=) is kept per tree, so a rebuild (a bisect step) makes only
what changed; the image is cached by the tree's version, its sources (git tree id and local
changes, or file sizes and times) and the configuration.
Prints the image's path: mremap-probe vm --kernel "$(mremap-probe kernels build --source .)"
Exit status: 0 built or cached, 2 not a kernel tree (or older than 4.14), 4 the build failed
(one line names its log) or a tool is missing. Nothing is cached from a failed build.`,
    )
    .action(
      async (opts: {
        source: string;
        output?: string;
        jobs?: string;
        configFragment?: string;
        json?: boolean;
      }) => {
        const jobs = opts.jobs ? parseIntOption('--jobs', opts.jobs, 1, 256) : undefined;
        let fragment: string | undefined;
        if (opts.configFragment !== undefined) {
          try {
            fragment = readFileSync(opts.configFragment, 'utf8');
          } catch (err) {
            throw new UsageError(`cannot read ${opts.configFragment}: ${(err as Error).message}`);
          }
        }
        const out = openOutput(opts.output);
        const progress = buildProgress();
        let k;
        try {
          k = await buildKernel({
            source: opts.source,
            ...(jobs ? { jobs } : {}),
            ...(fragment !== undefined ? { fragment } : {}),
            log: (s) => {
              progress.end();
              log(s);
            },
            onStep: progress.onStep,
          });
        } finally {
          progress.end();
        }
        out?.write(readFileSync(k.vmlinuz));
        emit(opts.json ? toJson(k) : `${opts.output ?? k.vmlinuz}\n`);
      },
    );
  kernels
    .command('list')
    .description('list the cached kernels')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const list = listKernels();
      if (opts.json) emit(toJson(list));
      else if (!list.length)
        emit(
          'no kernels cached: `mremap-probe kernels fetch 6.12` fetches one, `kernels build --source DIR` builds one\n',
        );
      else
        emit(
          list
            .map(
              (k) =>
                `${k.release.padEnd(32)} ${describe(k)}, ${k.fetchedAt.slice(0, 10)}  ${k.vmlinuz}`,
            )
            .join('\n') + '\n',
        );
    });
}
