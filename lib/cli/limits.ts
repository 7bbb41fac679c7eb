// --lower-limit and the hazard that asks for it, shared by the commands that
// fill; and the one line every command says about a limit another probe lowered.
import { readMaxMapCount } from '../kernel.js';
import {
  limitNotice,
  limitStatus,
  limitToLowerFrom,
  lowerMaxMapCount,
  MIN_LOWERED,
  SysctlError,
  type LimitStatus,
  type LoweredLimit,
} from '../sysctl.js';
import { CliError, EXIT, parseIntOption, UsageError } from './common.js';

export interface LimitChoice {
  maxMapCount: number;
  lowered?: LoweredLimit;
}

/**
 * The exit status of a sysctl failure: a refused state file or a limit that
 * is not lower is a usage error, a missing privilege "could not run here",
 * another probe holding the limit `held`, anything else `fail`.
 */
export function sysctlFailure(err: SysctlError, codes: { held: number; fail: number }): CliError {
  switch (err.reason) {
    case 'usage':
    case 'invalid-state':
      return new CliError(err.message, EXIT.usage);
    case 'privilege':
      return new CliError(err.message, EXIT.skip);
    case 'held':
      return new CliError(err.message, codes.held);
    default:
      return new CliError(err.message, codes.fail);
  }
}

/** Applies --lower-limit N (root only), returning the limit the run works against. */
export function applyLowerLimit(value: string | undefined): LimitChoice {
  if (value === undefined) return { maxMapCount: readMaxMapCount() };
  const n = parseIntOption('--lower-limit', value, MIN_LOWERED);
  const codes = { held: EXIT.skip, fail: EXIT.skip };
  let from: number;
  try {
    from = limitToLowerFrom();
  } catch (err) {
    if (err instanceof SysctlError) throw sysctlFailure(err, codes);
    throw err;
  }
  if (n >= from) throw new UsageError(`--lower-limit ${n} is not below vm.max_map_count (${from})`);
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
    if (err instanceof SysctlError) throw sysctlFailure(err, codes);
    throw err;
  }
}

export interface Notice {
  text?: string;
  /** What the state directory said: see LimitStatus. */
  kind: LimitStatus['kind'];
}

let notice: Notice | undefined;

/**
 * Says once, on standard error, that vm.max_map_count is lowered by a probe
 * that did not restore it (or by one that runs now), and returns the line for
 * the report's notes. Never fails a command: what cannot be read is not said.
 */
export function sayLimitNotice(): Notice {
  if (!notice) {
    try {
      const s = limitStatus();
      const text = limitNotice(s);
      notice = { ...(text ? { text } : {}), kind: s.kind };
    } catch {
      notice = { kind: 'none' };
    }
    if (notice.text) process.stderr.write(`mremap-probe: ${notice.text}\n`);
  }
  return notice;
}

/** The notes a run report carries about the limit: none when this run lowered it itself. */
export function limitNotes(choice: LimitChoice): string[] {
  if (choice.lowered) return [];
  const n = sayLimitNotice();
  if (!n.text || (n.kind !== 'stale' && n.kind !== 'held')) return [];
  return [n.text];
}
