// --lower-limit and the hazard that asks for it, shared by the commands that fill.
import { readMaxMapCount } from '../kernel.js';
import { lowerMaxMapCount, SysctlError, type LoweredLimit } from '../sysctl.js';
import { CliError, EXIT, parseIntOption } from './common.js';

export interface LimitChoice {
  maxMapCount: number;
  lowered?: LoweredLimit;
}

/** Applies --lower-limit N (root only), returning the limit the run works against. */
export function applyLowerLimit(value: string | undefined): LimitChoice {
  if (value === undefined) return { maxMapCount: readMaxMapCount() };
  const n = parseIntOption('--lower-limit', value, 1024);
  if (process.getuid?.() !== 0) {
    throw new CliError(
      `could not run here: --lower-limit needs root to write vm.max_map_count`,
      EXIT.skip,
    );
  }
  try {
    const lowered = lowerMaxMapCount(n);
    return { maxMapCount: n, lowered };
  } catch (err) {
    if (err instanceof SysctlError) throw new CliError(err.message, EXIT.skip);
    throw err;
  }
}
