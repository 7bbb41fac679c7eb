// `mremap-probe pressure`: bring a lab child to an exact map count and verify it.
import type { Command } from 'commander';
import { PressureLab, parseTarget, resolveTarget, DEFAULT_MAX_FILL } from '../pressure.js';
import { readMaxMapCount } from '../kernel.js';
import { MIN_LOWERED } from '../sysctl.js';
import { emit, parseIntOption, toJson, UsageError } from './common.js';
import { applyLowerLimit } from './limits.js';

interface Options {
  target: string;
  json?: boolean;
  lowerLimit?: string;
  maxFill?: string;
}

export function registerPressure(program: Command): void {
  program
    .command('pressure')
    .description(
      'fork a lab child, bring its map count to an exact target near vm.max_map_count, and verify it by counting its own /proc/self/maps',
    )
    .requiredOption('--target <spec>', 'M, M-k or M+k (M = vm.max_map_count), or an absolute count')
    .option('--json', 'print JSON')
    .option(
      '--lower-limit <n>',
      'as root: lower vm.max_map_count to n for the run, then restore it',
    )
    .option('--max-fill <n>', `fill at most this many VMAs (default ${DEFAULT_MAX_FILL})`)
    .addHelpText(
      'after',
      `
A process can reach M+1 (do_mmap fails only when map_count > M), not beyond: a
target above it is reported as not reached (exit 1); one below 1, or too large
to be a number, is a usage error.
Exit status: 0 reached and verified, 1 not reached, 2 usage error, 4 could not run here.`,
    )
    .action((opts: Options) => {
      let spec;
      try {
        spec = parseTarget(opts.target);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (
        (spec.absolute !== undefined && !Number.isSafeInteger(spec.absolute)) ||
        (spec.offset !== undefined && !Number.isSafeInteger(spec.offset))
      ) {
        throw new UsageError(`--target ${opts.target} is not a number the probe can reach`);
      }
      const maxFill = opts.maxFill ? parseIntOption('--max-fill', opts.maxFill, 1) : undefined;
      // The limit the target is measured from, known before anything is lowered.
      const M =
        opts.lowerLimit !== undefined
          ? parseIntOption('--lower-limit', opts.lowerLimit, MIN_LOWERED)
          : readMaxMapCount();
      const target = resolveTarget(spec, M);
      // No process has fewer than one VMA. Above M+1 is tried and reported as not
      // reached, with the kernel's reason.
      if (target < 1) {
        throw new UsageError(
          `--target ${spec.text} is ${target} with vm.max_map_count ${M}: a map count is at least 1`,
        );
      }
      const limit = applyLowerLimit(opts.lowerLimit);
      try {
        const t0 = performance.now();
        const pl = PressureLab.open(limit.maxMapCount, maxFill ? { maxFill } : {});
        try {
          const r = pl.reach(target, { verify: true });
          const elapsedMs = Math.round((performance.now() - t0) * 10) / 10;
          const report = {
            target: spec.text,
            targetCount: target,
            maxMapCount: limit.maxMapCount,
            mapCount: r.mapCount,
            verified: r.verified,
            fillers: r.fillers,
            elapsedMs,
            ...(r.reason ? { reason: r.reason } : {}),
            environment: pl.environment,
            ...(limit.lowered
              ? {
                  loweredLimit: {
                    original: limit.lowered.original,
                    lowered: limit.lowered.lowered,
                  },
                }
              : {}),
          };
          if (opts.json) emit(toJson(report));
          else {
            emit(
              `target ${spec.text} = ${target}: map count ${r.mapCount}, ${r.verified ? 'verified' : 'NOT reached'}` +
                ` (${r.fillers} fillers, ${elapsedMs} ms)` +
                (r.reason ? `\n${r.reason}` : '') +
                '\n',
            );
          }
          process.exitCode = r.verified ? 0 : 1;
        } finally {
          pl.close();
        }
      } finally {
        limit.lowered?.restore();
      }
    });
}
