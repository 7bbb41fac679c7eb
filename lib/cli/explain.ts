// `mremap-probe explain`: the model's step trace for one case.
import { release } from 'node:os';
import type { Command } from 'commander';
import { explainCase } from '../explain.js';
import { parseKernelVersion, readMaxMapCount } from '../kernel.js';
import { ERAS, eraOfVersion, isEra, type EraId } from '../model/types.js';
import { emit, loadCases, parseIntOption, requireScenario, toJson, UsageError } from './common.js';

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
    .option('--era <id>', `the era's model to follow: ${ERAS.join(', ')} (default: this kernel's)`)
    .option(
      '--max-map-count <n>',
      "the vm.max_map_count to assume (default: this machine's, else 65530)",
    )
    .option(
      '--kernel <version>',
      'the kernel version whose features apply within the era, e.g. 5.10',
    )
    .option('--json', 'print the trace and the prediction as JSON')
    .action((id: string, opts: Options) => {
      const s = requireScenario(id, loadCases(opts.cases).scenarios);
      if (opts.era !== undefined && !isEra(opts.era)) {
        throw new UsageError(
          `unknown era ${JSON.stringify(opts.era)}: use one of ${ERAS.join(', ')}`,
        );
      }
      let version;
      try {
        version = opts.kernel ? parseKernelVersion(opts.kernel) : undefined;
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      let M: number;
      if (opts.maxMapCount) M = parseIntOption('--max-map-count', opts.maxMapCount, 16);
      else {
        try {
          M = readMaxMapCount();
        } catch {
          M = 65530;
        }
      }
      let era: EraId;
      if (opts.era && isEra(opts.era)) era = opts.era;
      else {
        try {
          era = eraOfVersion(parseKernelVersion(release()));
        } catch {
          era = '7.1+';
        }
      }
      const e = explainCase(s, era, { maxMapCount: M, ...(version ? { version } : {}) });
      if (opts.json) {
        emit(
          toJson({
            id: s.id,
            era,
            maxMapCount: M,
            return: e.prediction.ret,
            trace: e.prediction.trace,
            mapCountAfter: e.prediction.state.mapCount,
          }),
        );
      } else emit(e.text);
    });
}
