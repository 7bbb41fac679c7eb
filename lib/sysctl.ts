// Lowering vm.max_map_count for a run, and putting it back: on normal exit, on
// SIGINT/SIGTERM/SIGHUP, on an exception, and after a kill -9 through a state
// file that `mremap-probe restore` reads. The state file is written (and
// synced) before the sysctl is touched, so there is never a lowered limit
// without a record of the original.
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './cli/common.js';
import { MAX_MAP_COUNT_PATH, readMaxMapCount } from './kernel.js';

export interface SysctlState {
  path: string;
  original: number;
  lowered: number;
  pid: number;
  startedAt: string;
}

/** Where the state lives: /run is emptied on reboot, when the sysctl resets too. */
export function stateDir(): string {
  return process.env.MREMAP_PROBE_STATE_DIR ?? '/run/mremap-probe';
}

export function statePath(): string {
  return join(stateDir(), 'max_map_count.json');
}

export function readState(): SysctlState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(), 'utf8')) as SysctlState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The sysctl file; tests point it elsewhere to exercise the paths without root. */
function sysctlPath(): string {
  return process.env.MREMAP_PROBE_SYSCTL_PATH ?? MAX_MAP_COUNT_PATH;
}

function readSysctl(path: string): number {
  return path === MAX_MAP_COUNT_PATH
    ? readMaxMapCount()
    : Number(readFileSync(path, 'utf8').trim());
}

function writeSysctl(path: string, value: number): void {
  writeFileSync(path, `${value}\n`);
}

export class SysctlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SysctlError';
  }
}

export interface RestoreResult {
  restored: boolean;
  message: string;
  state?: SysctlState;
}

/**
 * Puts back what the state file recorded. Refuses while the run that wrote it
 * is still alive, unless forced.
 */
export function restoreFromState(options: { force?: boolean } = {}): RestoreResult {
  const state = readState();
  if (!state) return { restored: false, message: 'nothing to restore: no saved vm.max_map_count' };
  if (state.pid !== process.pid && alive(state.pid) && !options.force) {
    throw new SysctlError(
      `process ${state.pid} lowered vm.max_map_count and is still running; it restores it when it ends (use --force to restore now)`,
    );
  }
  const now = readSysctl(state.path);
  if (now !== state.lowered && now !== state.original) {
    // Someone else changed it since: do not overwrite their value blindly.
    if (!options.force) {
      throw new SysctlError(
        `${state.path} is ${now}, neither the lowered ${state.lowered} nor the original ${state.original}; use --force to write ${state.original}`,
      );
    }
  }
  writeSysctl(state.path, state.original);
  unlinkSync(statePath());
  return {
    restored: true,
    message: `restored ${state.path} from ${now} to ${state.original}`,
    state,
  };
}

export interface LoweredLimit {
  original: number;
  lowered: number;
  restore(): void;
}

let active: LoweredLimit | undefined;

/**
 * Lowers vm.max_map_count to `value` until restore() or the end of the process.
 * A state file left by a killed run is restored first.
 */
export function lowerMaxMapCount(value: number): LoweredLimit {
  if (active) throw new SysctlError('vm.max_map_count is already lowered by this process');
  const path = sysctlPath();
  const stale = readState();
  if (stale) {
    if (alive(stale.pid) && stale.pid !== process.pid) {
      throw new SysctlError(
        `process ${stale.pid} has lowered vm.max_map_count and still runs; wait for it or run \`mremap-probe restore --force\``,
      );
    }
    const r = restoreFromState();
    process.stderr.write(`mremap-probe: a killed run had lowered the limit; ${r.message}\n`);
  }
  const original = readSysctl(path);
  if (value >= original) {
    throw new SysctlError(`--lower-limit ${value} is not below vm.max_map_count (${original})`);
  }
  const state: SysctlState = {
    path,
    original,
    lowered: value,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  try {
    mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
    writeFileAtomic(statePath(), `${JSON.stringify(state, null, 2)}\n`);
  } catch (err) {
    throw new SysctlError(
      `cannot record the original limit in ${statePath()}: ${(err as Error).message}`,
    );
  }
  try {
    writeSysctl(path, value);
  } catch (err) {
    unlinkSync(statePath());
    throw new SysctlError(`cannot write ${path}: ${(err as Error).message} (root is needed)`);
  }

  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.stderr.write(`mremap-probe: ${signal}: vm.max_map_count restored to ${original}\n`);
    process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143);
  };
  const onExit = () => restore();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  function restore(): void {
    if (active !== handle) return;
    active = undefined;
    for (const s of signals) process.off(s, onSignal);
    process.off('exit', onExit);
    try {
      if (readSysctl(path) === value) writeSysctl(path, original);
      if (existsSync(statePath())) unlinkSync(statePath());
    } catch (err) {
      process.stderr.write(
        `mremap-probe: could not restore ${path} to ${original}: ${(err as Error).message}; run \`mremap-probe restore\`\n`,
      );
    }
  }
  for (const s of signals) process.on(s, onSignal);
  process.on('exit', onExit);
  const handle: LoweredLimit = { original, lowered: value, restore };
  active = handle;
  return handle;
}
