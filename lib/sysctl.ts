// Lowering vm.max_map_count for a run, and putting it back: on normal exit, on
// SIGINT/SIGTERM/SIGHUP, on an exception, and after a kill -9 through a state
// file that `mremap-probe restore` reads. The state file is written (and
// synced) before the sysctl is touched, so there is never a lowered limit
// without a record of the original.
//
// One lowered run at a time: it holds an exclusive flock(2) on the state
// directory from before it reads the state file until after it removed it.
// A state file whose directory nobody holds locked was left by a run that was
// killed. The state is readable by everyone (directory 0755, file 0644) so
// that any user's command can say the limit was left lowered, and writable by
// root only; a state file or directory that is not root's, is writable by
// others, is a symbolic link, or names anything but the sysctl is refused
// whole, so that a planted file cannot make root write elsewhere.
//
// Longer than most of lib/: the state file's validation, the lock and every
// restore path guard the same sysctl and are read together.
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { MAX_MAP_COUNT_PATH, readMaxMapCount } from './kernel.js';
import { native } from './native.js';
import { writeFileWhole } from './output.js';

export interface SysctlState {
  path: string;
  original: number;
  lowered: number;
  pid: number;
  startedAt: string;
}

/** The lowest limit a run may lower to: below it the lab's own mappings do not fit. */
export const MIN_LOWERED = 1024;
const INT_MAX = 2 ** 31 - 1;
/** PID_MAX_LIMIT on 64-bit kernels. */
const PID_MAX = 4 * 1024 * 1024;
const MAX_STATE_BYTES = 4096;

/** Where the state lives: /run is emptied on reboot, when the sysctl resets too. */
export function stateDir(): string {
  return process.env.MREMAP_PROBE_STATE_DIR ?? '/run/mremap-probe';
}

export function statePath(): string {
  return join(stateDir(), 'max_map_count.json');
}

/** The sysctl file; tests point it elsewhere to exercise the paths without the real limit. */
export function sysctlPath(): string {
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

/**
 * Why the sysctl could not be lowered or restored: `usage` (a limit that is
 * not lower), `invalid-state` (a state file or directory refused), `held`
 * (another probe holds the lowered limit), `privilege` (root is needed), or
 * `fail` (anything else).
 */
export type SysctlFailure = 'usage' | 'invalid-state' | 'held' | 'privilege' | 'fail';

export class SysctlError extends Error {
  constructor(
    message: string,
    readonly reason: SysctlFailure = 'fail',
  ) {
    super(message);
    this.name = 'SysctlError';
  }
}

function refuse(why: string): SysctlError {
  return new SysctlError(
    `refusing the state file ${statePath()}: ${why}; remove it by hand if you trust it to be stale`,
    'invalid-state',
  );
}

/** Root's, and not writable by group or others. */
function checkOwnership(what: string, st: Stats): void {
  if (st.uid !== 0) throw refuse(`${what} is owned by uid ${st.uid}, not root`);
  if (st.mode & 0o022) {
    throw refuse(
      `${what} is writable by ${st.mode & 0o020 ? 'its group' : 'others'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`,
    );
  }
}

/** The state directory, checked; undefined when it does not exist. */
function checkStateDir(): Stats | undefined {
  let st: Stats;
  try {
    st = lstatSync(stateDir());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw refuse(`cannot look at ${stateDir()}: ${(err as Error).message}`);
  }
  if (st.isSymbolicLink()) throw refuse(`its directory ${stateDir()} is a symbolic link`);
  if (!st.isDirectory()) throw refuse(`${stateDir()} is not a directory`);
  checkOwnership(`its directory ${stateDir()}`, st);
  return st;
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Every field, in range, and nothing else. */
function parseState(text: string): SysctlState {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (err) {
    throw refuse(`it is not JSON (${(err as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw refuse('it is not an object');
  const o = j as Record<string, unknown>;
  const fields = ['path', 'original', 'lowered', 'pid', 'startedAt'];
  const extra = Object.keys(o).filter((k) => !fields.includes(k));
  if (extra.length) throw refuse(`unknown field ${JSON.stringify(extra[0])}`);
  if (typeof o.path !== 'string') throw refuse('path is not a string');
  if (o.path !== sysctlPath())
    throw refuse(`it names ${JSON.stringify(o.path)}, not ${sysctlPath()}`);
  if (!isInt(o.original, MIN_LOWERED + 1, INT_MAX))
    throw refuse(`original is not an integer from ${MIN_LOWERED + 1} to ${INT_MAX}`);
  if (!isInt(o.lowered, MIN_LOWERED, o.original - 1))
    throw refuse(`lowered is not an integer from ${MIN_LOWERED} to original - 1`);
  if (!isInt(o.pid, 1, PID_MAX)) throw refuse(`pid is not an integer from 1 to ${PID_MAX}`);
  if (
    typeof o.startedAt !== 'string' ||
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(o.startedAt) ||
    Number.isNaN(Date.parse(o.startedAt)) ||
    new Date(o.startedAt).toISOString() !== o.startedAt
  ) {
    throw refuse('startedAt is not an ISO 8601 time in UTC');
  }
  return {
    path: o.path,
    original: o.original,
    lowered: o.lowered,
    pid: o.pid,
    startedAt: o.startedAt,
  };
}

/**
 * The state a lowered run left, checked whole; undefined when there is none.
 * Throws a SysctlError (`invalid-state`) for anything it will not trust.
 */
export function readState(): SysctlState | undefined {
  if (!checkStateDir()) return undefined;
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted in its place must not hang the command.
    fd = openSync(
      statePath(),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw refuse('it is a symbolic link');
    // A directory an older version made root-only: only root can tell.
    if (code === 'EACCES')
      throw new SysctlError(`cannot read ${statePath()}: root is needed`, 'privilege');
    throw refuse(`cannot read it: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refuse('it is not a regular file');
    checkOwnership('it', st);
    if (st.nlink !== 1) throw refuse(`it has ${st.nlink} hard links`);
    if (st.size > MAX_STATE_BYTES) throw refuse(`it is larger than ${MAX_STATE_BYTES} bytes`);
    const buf = Buffer.alloc(MAX_STATE_BYTES + 1);
    let n = 0;
    for (let r; (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r;
    if (n > MAX_STATE_BYTES) throw refuse(`it is larger than ${MAX_STATE_BYTES} bytes`);
    return parseState(buf.subarray(0, n).toString('utf8'));
  } finally {
    closeSync(fd);
  }
}

// The lock: flock(2) on the state directory.

/** Linux's dev_t as the kernel prints it in /proc/locks: major:minor in hex. */
function devKey(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major.toString(16)}:${minor.toString(16)}`;
}

/** The pid holding an exclusive flock on the directory, from /proc/locks; null when unknown. */
function flockHolder(dir: string): number | null | undefined {
  let st;
  let locks: string;
  try {
    st = lstatSync(dir, { bigint: true });
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  const want = `${devKey(st.dev)}:${st.ino}`;
  for (const line of locks.split('\n')) {
    const f = line.trim().split(/\s+/);
    // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:260072 0 EOF"; waiters read "1: -> FLOCK ...".
    if (f[1] !== 'FLOCK' || f[3] !== 'WRITE' || !f[5]) continue;
    const [maj, min, ino] = f[5].split(':');
    if (`${parseInt(maj!, 16).toString(16)}:${parseInt(min!, 16).toString(16)}:${ino}` !== want)
      continue;
    const pid = Number(f[4]);
    return pid > 0 ? pid : null;
  }
  return undefined;
}

interface DirLock {
  release(): void;
}

/**
 * Takes the exclusive lock on the state directory without waiting, making the
 * directory (0755, root's) first when asked. Undefined when the directory does
 * not exist and may not be made; a SysctlError (`held`) when another process
 * holds it.
 */
function lockStateDir(create: boolean): DirLock | undefined {
  const dir = stateDir();
  if (create) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new SysctlError(`cannot make ${dir}: ${(err as Error).message}`, 'privilege');
    }
  }
  const st = checkStateDir();
  if (!st) return undefined;
  // Readable by everyone, so that any user's command can tell the limit was left lowered.
  if (create && (st.mode & 0o755) !== 0o755) chmodSync(dir, 0o755);
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SysctlError(
      `cannot open ${dir}: ${(err as Error).message}${code === 'EACCES' ? ' (root is needed)' : ''}`,
      code === 'EACCES' ? 'privilege' : 'fail',
    );
  }
  const n = native();
  const r = n.flock(fd, n.constants.LOCK_EX | n.constants.LOCK_NB, false);
  if (!r.ok) {
    closeSync(fd);
    if (r.code !== 'EAGAIN' && r.code !== 'EWOULDBLOCK')
      throw new SysctlError(`cannot lock ${dir}: ${r.code}`);
    const state = tryReadState();
    const pid = flockHolder(dir) ?? state?.pid ?? 'unknown';
    const what = `vm.max_map_count${state ? ` (lowered to ${state.lowered} at ${state.startedAt})` : ''}`;
    throw new SysctlError(
      create
        ? `another mremap-probe (pid ${pid}) holds ${what}; wait for it to end`
        : `process ${pid} lowered ${what} and is still running; it restores it when it ends (use --force to restore now)`,
      'held',
    );
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      closeSync(fd); // closing the only descriptor drops the lock
    },
  };
}

function tryReadState(): SysctlState | undefined {
  try {
    return readState();
  } catch {
    return undefined;
  }
}

export interface LimitHolder {
  /** The process holding the lowered limit, or null when /proc/locks does not say. */
  pid: number | null;
  /** What it recorded, when its state file could be read. */
  state?: SysctlState;
}

let active: LoweredLimit | undefined;

/**
 * Another process (not this one) holding vm.max_map_count lowered right now,
 * or undefined. Looks only (at /proc/locks), so it never gets in the way of a
 * run that is about to take the lock: a plain run can call it when its limit
 * changed under it, to say why.
 */
export function lowerLimitHolder(): LimitHolder | undefined {
  if (active) return undefined;
  const pid = flockHolder(stateDir());
  if (pid === undefined || pid === process.pid) return undefined;
  const state = tryReadState();
  return { pid, ...(state ? { state } : {}) };
}

export type LimitStatus =
  | { kind: 'none' }
  /** A state file nobody holds: the run that lowered the limit died without restoring it. */
  | { kind: 'stale'; state: SysctlState; now: number | null }
  | { kind: 'held'; holder: LimitHolder }
  | { kind: 'invalid'; message: string };

/** What the state directory says about vm.max_map_count, for any user. */
export function limitStatus(): LimitStatus {
  if (active) return { kind: 'none' };
  const holder = lowerLimitHolder();
  if (holder) return { kind: 'held', holder };
  let state: SysctlState | undefined;
  try {
    state = readState();
  } catch (err) {
    if (err instanceof SysctlError && err.reason === 'privilege') return { kind: 'none' };
    return { kind: 'invalid', message: (err as Error).message };
  }
  if (!state) return { kind: 'none' };
  let now: number | null;
  try {
    now = readSysctl(state.path);
  } catch {
    now = null;
  }
  return { kind: 'stale', state, now };
}

/** One line about a limit another probe lowered, or undefined when there is nothing to say. */
export function limitNotice(s: LimitStatus = limitStatus()): string | undefined {
  switch (s.kind) {
    case 'stale': {
      const st = s.state;
      const now = s.now === null ? '' : s.now === st.lowered ? '' : `; it is now ${s.now}`;
      return (
        `vm.max_map_count was lowered from ${st.original} to ${st.lowered} by mremap-probe (pid ${st.pid}, ${st.startedAt}), ` +
        `which did not restore it${now}: run \`mremap-probe restore\` as root to put back ${st.original}`
      );
    }
    case 'held': {
      const st = s.holder.state;
      return (
        `vm.max_map_count is lowered${st ? ` from ${st.original} to ${st.lowered}` : ''} by another mremap-probe ` +
        `(pid ${s.holder.pid ?? st?.pid ?? 'unknown'}) until it ends`
      );
    }
    case 'invalid':
      return s.message;
    default:
      return undefined;
  }
}

export interface RestoreResult {
  restored: boolean;
  message: string;
  state?: SysctlState;
}

/** Writes back what a state file recorded and removes it; the caller holds the lock (or forces). */
function restoreState(state: SysctlState, force: boolean): RestoreResult {
  if (process.getuid?.() !== 0 && state.path === MAX_MAP_COUNT_PATH) {
    throw new SysctlError(
      `vm.max_map_count was lowered from ${state.original} to ${state.lowered} by pid ${state.pid}; restoring it needs root`,
      'privilege',
    );
  }
  const now = readSysctl(state.path);
  if (now !== state.lowered && now !== state.original && !force) {
    // Someone else changed it since: do not overwrite their value blindly.
    throw new SysctlError(
      `${state.path} is ${now}, neither the lowered ${state.lowered} nor the original ${state.original}; use --force to write ${state.original}`,
    );
  }
  writeSysctl(state.path, state.original);
  unlinkSync(statePath());
  return {
    restored: true,
    message: `restored ${state.path} from ${now} to ${state.original}`,
    state,
  };
}

/**
 * Puts back what the state file recorded. Refuses while the run that wrote it
 * still holds the lock, unless forced; refuses a state file it does not trust.
 */
export function restoreFromState(options: { force?: boolean } = {}): RestoreResult {
  let lock: DirLock | undefined;
  try {
    lock = lockStateDir(false);
  } catch (err) {
    if (!(err instanceof SysctlError && err.reason === 'held' && options.force)) throw err;
  }
  try {
    const state = readState();
    if (!state)
      return { restored: false, message: 'nothing to restore: no saved vm.max_map_count' };
    return restoreState(state, options.force === true);
  } finally {
    lock?.release();
  }
}

/**
 * The limit a --lower-limit run would lower from: what a killed run left
 * recorded as the original, else the current value.
 */
export function limitToLowerFrom(): number {
  const s = limitStatus();
  if (s.kind === 'stale') return s.state.original;
  if (s.kind === 'held' && s.holder.state) return s.holder.state.original;
  return readSysctl(sysctlPath());
}

export interface LoweredLimit {
  original: number;
  lowered: number;
  restore(): void;
}

/**
 * Lowers vm.max_map_count to `value` until restore() or the end of the process,
 * holding the state directory's lock all that time. A state file left by a
 * killed run is restored first.
 */
export function lowerMaxMapCount(value: number): LoweredLimit {
  if (active) throw new SysctlError('vm.max_map_count is already lowered by this process');
  if (!Number.isSafeInteger(value) || value < MIN_LOWERED)
    throw new SysctlError(`the limit to lower to must be an integer >= ${MIN_LOWERED}`, 'usage');
  const path = sysctlPath();
  const lock = lockStateDir(true)!;
  let original = 0;
  let handle: LoweredLimit | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.stderr.write(
      `mremap-probe: ${signal}: the run stopped (its lab children are killed, no report is written); vm.max_map_count restored to ${original}\n`,
    );
    process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143);
  };
  const onExit = () => restore();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  function restore(): void {
    if (!handle || active !== handle) return;
    active = undefined;
    unlisten();
    try {
      if (readSysctl(path) === value) writeSysctl(path, original);
      try {
        unlinkSync(statePath());
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    } catch (err) {
      process.stderr.write(
        `mremap-probe: could not restore ${path} to ${original}: ${(err as Error).message}; run \`mremap-probe restore\`\n`,
      );
    } finally {
      lock.release();
    }
  }
  // The handlers are in place before the limit is lowered: a signal that
  // came between the write and their installation would kill the process
  // with the limit left lowered. (Node runs them from its event loop, so none
  // runs before this function has returned.)
  const unlisten = () => {
    for (const s of signals) process.off(s, onSignal);
    process.off('exit', onExit);
  };
  for (const s of signals) process.on(s, onSignal);
  process.on('exit', onExit);
  try {
    const stale = readState();
    if (stale) {
      const r = restoreState(stale, false);
      process.stderr.write(`mremap-probe: a killed run had lowered the limit; ${r.message}\n`);
    }
    original = readSysctl(path);
    if (value >= original) {
      throw new SysctlError(
        `--lower-limit ${value} is not below vm.max_map_count (${original})`,
        'usage',
      );
    }
    const state: SysctlState = {
      path,
      original,
      lowered: value,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    };
    try {
      writeFileWhole(statePath(), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
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
  } catch (err) {
    unlisten();
    lock.release();
    throw err;
  }

  handle = { original, lowered: value, restore };
  active = handle;
  return handle;
}
