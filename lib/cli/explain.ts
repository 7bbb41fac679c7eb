// `mremap-probe explain`: the model's step trace for one case.
import { release } from 'node:os';
import type { Command } from 'commander';
import { explainCase } from '../explain.js';
import { kernelFacts, parseKernelVersion, readMaxMapCount, versionString } from '../kernel.js';
import { emit, loadCases, parseIntOption, requireScenario, toJson } from './common.js';
import { eraForKernel, modelsCover, parseEra, parseKernelOption } from './era.js';
import { ERAS } from '../model/types.js';

interface Options {
  cases: string[];
  era?: string;
  maxMapCount?: string;
  kernel?: string;
  json?: boolean;
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description(
      "print the model's step trace for a case: each check and unmap in the era's order, named after the kernel function it mirrors",
    )
    .argument('<case>', 'a case id (see `mremap-probe run --list`)')
    .option(
      '--cases <path>',
      'look the case up in these scenario files too (a file or a directory, as explore --save writes; repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option(
      '--era <id>',
      `explain by this era's model instead of the one the kernel's version falls in: ${ERAS.join(', ')}`,
    )
    .option(
      '--max-map-count <n>',
      "the vm.max_map_count to assume (default: this machine's, else 65530)",
    )
    .option(
      '--kernel <kernel>',
      "the kernel to explain as: a version (5.10), a release (6.1.0-18-amd64) or a kernel image (default: this machine's)",
    )
    .option('--json', 'print the trace and the prediction as JSON')
    .addHelpText(
      'after',
      `
The era follows the kernel: --kernel 5.10 explains under the 5.1-5.15 model with
the features 5.10 has. --era alone explains under that era's model (with the
features of this kernel clamped into the era); with both, the kernel must lie in
the era's range. The models cover ${modelsCover()}; a --kernel outside is refused.
Pages are this machine's: its page size and TASK_SIZE when the addon loads (an
arm64 kernel with 16 KiB pages explains in 16 KiB pages), else 4 KiB and x86-64's.
Exit status: 0, or 2 on a usage error.`,
    )
    .action((id: string, opts: Options) => {
      const s = requireScenario(id, loadCases(opts.cases).scenarios);
      const forced = parseEra(opts.era);
      const kernel = opts.kernel !== undefined ? parseKernelOption(opts.kernel) : ownKernel();
      const era = eraForKernel(forced, kernel, opts.kernel !== undefined);
      let M: number;
      if (opts.maxMapCount) M = parseIntOption('--max-map-count', opts.maxMapCount, 16);
      else {
        try {
          M = readMaxMapCount();
        } catch {
          M = 65530;
        }
      }
      const version = kernel.version;
      const e = explainCase(s, era, { maxMapCount: M, version, ...machinePages() });
      if (opts.json) {
        emit(
          toJson({
            id: s.id,
            era,
            kernel: versionString(version),
            maxMapCount: M,
            pageSize: e.placement.pageSize,
            return: e.prediction.ret,
            trace: e.prediction.trace,
            mapCountAfter: e.prediction.state.mapCount,
          }),
        );
      } else emit(e.text);
    });
}

/**
 * This machine's page size and TASK_SIZE when the addon loads (a model of a
 * 16 KiB-page arm64 kernel works in 16 KiB pages); else the defaults, x86-64's.
 */
function machinePages(): { pageSize?: number; taskSizePages?: number } {
  try {
    const k = kernelFacts();
    return { pageSize: k.pageSize, taskSizePages: Math.floor(k.taskSize / k.pageSize) };
  } catch {
    return {};
  }
}

/** This machine's kernel, where its release can be read; else the newest the models know. */
function ownKernel(): { version: [number, number, number]; release: string } {
  try {
    return { version: parseKernelVersion(release()), release: release() };
  } catch {
    return { version: [7, 1, 0], release: '7.1' };
  }
}
