// The lab seen from TypeScript: a child forked by the addon, single-threaded,
// running raw syscalls only, driven over a pipe and a shared mapping. Its map
// count is exactly what the operations sent to it made it, and when it dies
// or hangs the Node process goes on.
import { native, type LabEnd, type NativeLab, type SyscallOutcome } from './native.js';
import {
  decodePages,
  decodeResults,
  decodeVmas,
  encodeBatch,
  op,
  protocol,
  type LabOp,
  type LabResult,
  type PageState,
  type ProcFile,
  type VmaSnapshot,
} from './protocol.js';

export type { LabOp, LabResult, PageState, VmaSnapshot } from './protocol.js';

/** The child died or stopped answering: how, in words, and the raw end state. */
export class LabDiedError extends Error {
  constructor(
    readonly end: LabEnd,
    readonly during: string,
  ) {
    super(`the lab child ${describeEnd(end)} during ${during}`);
    this.name = 'LabDiedError';
  }
}

const SIGNALS: Record<number, string> = {
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  15: 'SIGTERM',
  31: 'SIGSYS',
};

export function describeEnd(end: LabEnd): string {
  switch (end.status) {
    case 'timeout':
      return 'did not answer in time and was killed';
    case 'exited':
      return `exited with status ${end.exitCode}`;
    case 'signaled':
      return `was killed by signal ${end.signal} (${SIGNALS[end.signal] ?? 'unknown'})`;
    case 'closed':
      return 'was closed';
  }
}

export interface LabOptions {
  /** How long one batch may take before the child is killed (default 10 s). */
  timeoutMs?: number;
  /** Bytes of the shared data area (default 8 MiB). */
  dataBytes?: number;
}

const open = new Set<Lab>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // The children die with us anyway (PR_SET_PDEATHSIG); this reaps them first.
  process.on('exit', () => {
    for (const lab of open) lab.close();
  });
}

function outcomeOf(ret: bigint, syscall: string): SyscallOutcome {
  if (ret >= 0n) return { ok: true, value: ret };
  const errno = Number(ret);
  return { ok: false, code: native().errnoName(-errno), errno, syscall };
}

export interface MapCountReading {
  /** map_count: lines of the child's /proc/self/maps, the gate VMA excluded. */
  mapCount: number;
  lines: number;
  gateVma: boolean;
}

/**
 * A forked lab child. Every method sends one batch and waits for its answer;
 * `exec` sends many operations in one round trip.
 */
export class Lab {
  readonly pid: number;
  readonly pageSize: number;
  readonly timeoutMs: number;
  private handle: NativeLab | undefined;
  private ended: LabEnd | undefined;
  /** Fillers the child holds now (see fill()). */
  fillers = 0;

  private constructor(handle: NativeLab, timeoutMs: number) {
    this.handle = handle;
    this.pid = handle.pid;
    this.pageSize = native().constants.PAGE_SIZE;
    this.timeoutMs = timeoutMs;
  }

  /** Forks a new lab child. */
  static open(options: LabOptions = {}): Lab {
    const addon = native();
    const lab = new Lab(new addon.Lab(options.dataBytes ?? 8 << 20), options.timeoutMs ?? 10_000);
    open.add(lab);
    installExitHook();
    return lab;
  }

  get alive(): boolean {
    return this.handle !== undefined && this.ended === undefined;
  }

  /** How the child ended, once it has. */
  get end(): LabEnd | undefined {
    return this.ended ?? (this.handle ? undefined : { status: 'closed' });
  }

  /**
   * Runs operations in order in the child, in one round trip. Throws
   * LabDiedError when the child crashes, exits or hangs past the timeout.
   */
  exec(ops: readonly LabOp[], timeoutMs = this.timeoutMs): LabResult[] {
    if (!this.handle || this.ended) {
      throw new LabDiedError(this.ended ?? { status: 'closed' }, ops[0]?.op ?? 'a call');
    }
    const max = protocol().maxOps;
    const results: LabResult[] = [];
    for (let first = 0; first < ops.length; first += max) {
      const chunk = ops.slice(first, first + max);
      const r = this.handle.call(encodeBatch(chunk), timeoutMs);
      if (r.status !== 'ok') {
        this.ended = r;
        open.delete(this);
        throw new LabDiedError(r, chunk.map((o) => o.op).join(', '));
      }
      results.push(...decodeResults(chunk, r.executed, r.results, r.data));
      if (r.executed < chunk.length) break; // stopped on an error
    }
    return results;
  }

  private one(o: LabOp, timeoutMs?: number): LabResult {
    return this.exec([o], timeoutMs)[0]!;
  }

  ping(): number {
    return Number(this.one(op.ping()).ret);
  }

  /** Runs one operation; its result as a system call's outcome (the value, or the errno). */
  call(o: LabOp, syscall: string = o.op): SyscallOutcome {
    return outcomeOf(this.one(o).ret, syscall);
  }

  mmap(
    addr: bigint,
    length: bigint,
    prot: number,
    flags: number,
    fd = -1,
    offset = 0n,
  ): SyscallOutcome {
    return this.call(op.mmap({ addr, length, prot, flags, fd, offset }));
  }

  munmap(addr: bigint, length: bigint): SyscallOutcome {
    return this.call(op.munmap({ addr, length }));
  }

  mremap(old: bigint, oldLength: bigint, newLength: bigint, flags: number, newAddr = 0n) {
    return this.call(op.mremap({ old, oldLength, newLength, flags, newAddr }));
  }

  getrlimit(resource: number): { cur: bigint; max: bigint } {
    const r = this.one(op.getrlimit({ resource }));
    if (r.ret < 0n) throw new Error(`getrlimit(${resource}) failed in the lab: ${r.ret}`);
    return { cur: r.v[0], max: r.v[1] };
  }

  /** Writes the stamp of (object, firstPage + i) over each page i. */
  stamp(addr: bigint, pages: number, object: number, firstPage: number, nonce: bigint) {
    return this.call(op.stamp({ addr, pages, object, firstPage, nonce }));
  }

  /** Reads each page back: unmapped, zero, a stamp (which), or other bytes. */
  check(addr: bigint, pages: number, nonce: bigint): PageState[] {
    const r = this.one(op.check({ addr, pages, nonce }));
    if (r.ret < 0n)
      throw new Error(`page check failed in the lab: ${native().errnoName(-Number(r.ret))}`);
    return decodePages(r.data);
  }

  /** Counts the child's own /proc/self/maps, as the kernel counts map_count. */
  countMaps(): MapCountReading {
    const r = this.one(op.count());
    if (r.ret < 0n) {
      const code = native().errnoName(-Number(r.ret));
      throw new LabHazardError('proc', `cannot read /proc/self/maps in the lab (${code})`);
    }
    return { mapCount: Number(r.ret), lines: Number(r.v[0]), gateVma: r.v[1] === 1n };
  }

  /** The VMAs that meet [start, end), by PROCMAP_QUERY where the kernel has it. */
  query(
    start: bigint,
    end: bigint,
    options: { text?: boolean } = {},
  ): { vmas: VmaSnapshot[]; method: 'ioctl' | 'text' } {
    const r = this.one(op.query({ start, end, text: options.text === true }));
    if (r.ret < 0n) {
      throw new LabHazardError(
        'proc',
        `cannot read the lab's maps (${native().errnoName(-Number(r.ret))})`,
      );
    }
    const ioctl = r.v[0] === BigInt(protocol().queryMethod.ioctl);
    return { vmas: decodeVmas(r.data), method: ioctl ? 'ioctl' : 'text' };
  }

  /** A number field of /proc/meminfo or of the child's /proc/self/status. */
  procField(file: ProcFile, name: string): bigint | undefined {
    const r = this.one(op.procField({ file, name }));
    return r.ret < 0n ? undefined : r.ret;
  }

  /** Sets up the filler area: `slots` one-page fillers, `stride` bytes apart. */
  setupFillers(base: bigint, slots: number, stride: bigint, prot: number): void {
    const r = this.one(op.fillerSetup({ base, slots, stride, prot }));
    if (r.ret < 0n) throw new Error(`filler setup failed: ${native().errnoName(-Number(r.ret))}`);
  }

  /**
   * Makes or removes one-page fillers, in the child, until it holds `count`
   * (one round trip). Returns how many it holds and the errno that stopped it.
   */
  fill(count: number, timeoutMs?: number): { fillers: number; stoppedBy?: string } {
    const r = this.one(op.fill({ count }), timeoutMs);
    if (r.ret < 0n) throw new Error(`fill failed: ${native().errnoName(-Number(r.ret))}`);
    this.fillers = Number(r.ret);
    return r.v[0] === 0n
      ? { fillers: this.fillers }
      : { fillers: this.fillers, stoppedBy: native().errnoName(Number(r.v[0])) };
  }

  /** Self-tests: make the child crash or hang. */
  crashForTest(): void {
    this.one(op.crash());
  }

  hangForTest(timeoutMs?: number): void {
    this.one(op.hang(), timeoutMs);
  }

  /** Kills and reaps the child; returns how it ended. Safe to call twice. */
  close(): LabEnd {
    open.delete(this);
    if (!this.handle) return this.ended ?? { status: 'closed' };
    const end = this.handle.close();
    this.handle = undefined;
    this.ended ??= end;
    return this.ended;
  }
}

export type HazardKind =
  'max-map-count' | 'rlimit' | 'proc' | 'seccomp' | 'address-space' | 'not-root';

/** The environment keeps the lab from running: "could not run here", never a kernel failure. */
export class LabHazardError extends Error {
  constructor(
    readonly kind: HazardKind,
    message: string,
  ) {
    super(message);
    this.name = 'LabHazardError';
  }
}
