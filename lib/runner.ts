// Runs scenarios in lab children and gathers the evidence: the region laid out
// and stamped, the map count brought to the case's offset from the limit, the
// environment the kernel's checks read, the call, and the region read back.
import { readFileSync } from 'node:fs';
import { effectiveCapabilities, meminfo, type KernelFacts } from './kernel.js';
import {
  LabHazardError,
  decodePages,
  decodeVmas,
  packName,
  type LabOp,
  type VmaSnapshot,
} from './lab.js';
import { native } from './native.js';
import { modelVmaViews, pageWord, vmaViews, type PageWord, type VmaView } from './evidence.js';
import { callOf, layoutState, type PlacedCase } from './model/predict.js';
import {
  atLeast,
  type ModelEnv,
  type Overcommit,
  type EraId,
  featureVersion,
} from './model/types.js';
import { PressureLab, DEFAULT_MAX_FILL } from './pressure.js';
import { beyondCommitPages, resolvePages } from './scenarios/geometry.js';
import type { Capability, Piece, Prot, Scenario } from './scenarios/types.js';

const CAP_NUMBERS: Record<Capability, number> = { CAP_IPC_LOCK: 14, CAP_SYS_RAWIO: 17 };

/** Facts about the machine the model needs, read once per run. */
export interface MachineFacts {
  pageSize: number;
  maxMapCount: number;
  version: KernelFacts['version'];
  mmapMinAddr: number;
  overcommit: Overcommit;
  /** Effective capabilities of this process (the lab child inherits them). */
  capEff: bigint;
  /** Pages a charge must exceed to fail under the heuristic overcommit (RAM + swap), with margin. */
  beyondCommit: number;
  taskSizePages: number;
}

function readInt(path: string, fallback: number): number {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : fallback;
  } catch {
    return fallback;
  }
}

export function machineFacts(kernel: KernelFacts, maxMapCount: number): MachineFacts {
  const P = kernel.pageSize;
  const mi = meminfo();
  const kb2p = (kb: number) => Math.floor((kb * 1024) / P);
  const totalPages = kb2p((mi.get('MemTotal') ?? 0) + (mi.get('SwapTotal') ?? 0));
  return {
    pageSize: P,
    maxMapCount,
    version: kernel.version,
    mmapMinAddr: readInt('/proc/sys/vm/mmap_min_addr', 0),
    overcommit: {
      mode: readInt('/proc/sys/vm/overcommit_memory', 0),
      totalPages,
      commitLimit: kb2p(mi.get('CommitLimit') ?? 0),
      committed: kb2p(mi.get('Committed_AS') ?? 0),
    },
    capEff: effectiveCapabilities(),
    beyondCommit: beyondCommitPages(totalPages),
    taskSizePages: 2 ** 35 - 1,
  };
}

export interface Observation {
  /** The call's return: its value, or the errno. */
  ret: { ok: true; value: bigint } | { ok: false; errno: string };
  vmasBefore: VmaView[];
  vmasAfter: VmaView[];
  pagesBefore: Map<number, PageWord>;
  pagesAfter: Map<number, PageWord>;
  mapCountBefore: number;
  mapCountAfter: number;
  /** How the map count was known: counted (exact) or tracked from the region (exact while nothing else moved). */
  mapCountMethod: 'counted' | 'tracked';
  /** The query method: PROCMAP_QUERY or the maps text. */
  queryMethod: 'ioctl' | 'text';
}

/** What the kernel's checks read in this case, besides the VMAs. */
export interface CaseInputs {
  totalVm: number;
  dataVm: number;
  lockedVm: number;
  rlimitAs: number;
  rlimitData: number;
  rlimitMemlock: number;
  capIpcLock: boolean;
  capSysRawio: boolean;
}

/** One cycle is also read step by step, this many times; the reading seen most often is kept. */
export const ACCOUNTING_DETAIL = 9;

/** Committed_AS measured around repeated cycles of one accounting case (kB as /proc/meminfo gives it). */
export interface AccountingMeasure {
  iterations: number;
  /** Committed_AS change over the cycles without the mremap (map and unmap only): the noise floor. */
  controlDeltaKb: number;
  /** Committed_AS change over the cycles with the mremap. */
  testDeltaKb: number;
  /** (test - control) per cycle, in pages, the median over the cycles: 0 when the kernel keeps its accounts. */
  driftPagesPerCycle: number;
  /** One cycle read step by step: after the mmap, after the mremap, after the unmap (kB, from the start). */
  oneCycleKb: { mapped: number; called: number; unmapped: number };
  /** Committed_AS after the lab child exited, minus before it was forked (kB). */
  exitResidualKb: number;
}

export type CaseRun =
  | { status: 'skip'; reason: string }
  | { status: 'broken'; reason: string }
  | {
      status: 'observed';
      placed: PlacedCase;
      obs: Observation;
      inputs: CaseInputs;
      elapsedMs: number;
      accounting?: AccountingMeasure;
    };

/** The environment the model of `era` runs a placed case in. */
export function modelEnv(facts: MachineFacts, inputs: CaseInputs, era: EraId): ModelEnv {
  return {
    maxMapCount: facts.maxMapCount,
    version: featureVersion(era, facts.version),
    pageSize: facts.pageSize,
    rlimitAs: inputs.rlimitAs,
    rlimitData: inputs.rlimitData,
    rlimitMemlock: inputs.rlimitMemlock,
    capIpcLock: inputs.capIpcLock,
    capSysRawio: inputs.capSysRawio,
    mmapMinAddr: facts.mmapMinAddr,
    overcommit: facts.overcommit,
    taskSize: facts.taskSizePages,
  };
}

/** The window's page count and new_len, resolved for this machine. */
export function resolveSizes(
  s: Scenario,
  facts: Pick<MachineFacts, 'beyondCommit'>,
): { windowPages: number; newPages: number } {
  const newPages = resolvePages(s.call.newPages, facts.beyondCommit);
  const windowPages =
    s.windowPages === 'beyond-commit' ? (s.call.newAddr as number) + newPages + 8 : s.windowPages;
  return { windowPages, newPages };
}

/** Why a scenario cannot run on this machine, or undefined. */
export function unmet(s: Scenario, facts: MachineFacts): string | undefined {
  const r = s.requires;
  if (!r) return undefined;
  if (r.minKernel && !atLeast(facts.version, r.minKernel[0], r.minKernel[1])) {
    return `needs Linux ${r.minKernel.join('.')} or later (this is ${facts.version.join('.')})`;
  }
  if (r.overcommitNot?.includes(facts.overcommit.mode)) {
    return `vm.overcommit_memory is ${facts.overcommit.mode}: the overcommit charge never fails`;
  }
  if (r.mmapMinAddr && facts.mmapMinAddr === 0)
    return 'vm.mmap_min_addr is 0: no address lies below it';
  return undefined;
}

const PROT: Record<Prot, number> = { rw: 3, r: 1, none: 0 };
// Evidence pages read per range at most, for huge windows.
const MAX_EVIDENCE = 512;

export interface RunnerOptions {
  facts: MachineFacts;
  timeoutMs?: number;
  maxFill?: number;
  /** Run the cases that change machine-wide state for good on a misbehaving kernel. */
  allowGlobalEffects?: boolean;
}

/** Owns the lab children of one run: one with fillers, and one for cases that give up capabilities. */
export class CaseRunner {
  private main?: PressureLab;
  private isolated?: PressureLab;
  private dropped = new Set<Capability>();
  private verifiedOnce = false;
  /** Set when the main lab cannot be used (hazard): every case that needs it is skipped with this. */
  private hazard?: string;
  readonly facts: MachineFacts;
  private readonly options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.options = options;
    this.facts = options.facts;
  }

  private get maxFill(): number {
    return this.options.maxFill ?? DEFAULT_MAX_FILL;
  }

  /** A lab child; with fillers only when the limit can be reached (cases without pressure need none). */
  private open(): PressureLab {
    return PressureLab.open(this.facts.maxMapCount, {
      maxFill: this.maxFill,
      fillers: this.facts.maxMapCount <= this.maxFill,
      ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
    });
  }

  private labFor(s: Scenario): PressureLab {
    if (s.requires?.dropCaps?.length) {
      this.isolated ??= this.open();
      return this.isolated;
    }
    this.main ??= this.open();
    return this.main;
  }

  /** Counts the main child's maps and compares with the tracking; returns the discrepancy, if any. */
  verifyTracking(): string | undefined {
    for (const pl of [this.main, this.isolated]) {
      if (!pl || !pl.lab.alive) continue;
      const tracked = pl.trackedCount;
      const counted = pl.count();
      if (tracked !== counted) {
        return `the lab child holds ${counted} VMAs but ${tracked} were tracked: something outside the regions changed`;
      }
    }
    return undefined;
  }

  close(): void {
    this.main?.close();
    this.isolated?.close();
  }

  /**
   * Runs scenarios in the order that needs the fewest filler changes: cases
   * without pressure first (no fillers), then by map-count offset, then the
   * cases that give up capabilities in their own child. Results come back in
   * the given order.
   */
  runAll(
    scenarios: Scenario[],
    onCase?: (done: number, total: number, s: Scenario) => void,
  ): CaseRun[] {
    const order = scenarios
      .map((s, i) => ({ s, i }))
      .sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i);
    const out: CaseRun[] = new Array(scenarios.length);
    order.forEach(({ s, i }, done) => {
      onCase?.(done, scenarios.length, s);
      out[i] = this.run(s);
    });
    onCase?.(scenarios.length, scenarios.length, scenarios.at(-1)!);
    return out;
  }

  run(s: Scenario): CaseRun {
    const t0 = performance.now();
    const why = unmet(s, this.facts);
    if (why) return { status: 'skip', reason: why };
    if (s.requires?.globalEffects && !this.options.allowGlobalEffects) {
      return {
        status: 'skip',
        reason:
          'leaves Committed_AS changed for good on a kernel that leaks: run it with --allow-global-effects, or in a vm guest',
      };
    }
    if (s.invariant === 'accounting') return this.runAccounting(s, t0);
    if (this.hazard) return { status: 'skip', reason: this.hazard };
    if (s.pressure !== null && this.facts.maxMapCount > this.maxFill) {
      return {
        status: 'skip',
        reason: `could not run here: vm.max_map_count is ${this.facts.maxMapCount}, too large to reach (more than ${this.maxFill} VMAs); as root, --lower-limit N lowers it for the run and restores it, or --max-fill raises the ceiling`,
      };
    }
    let pl: PressureLab;
    try {
      pl = this.labFor(s);
    } catch (err) {
      if (err instanceof LabHazardError) {
        this.hazard = `could not run here: ${err.message}`;
        return { status: 'skip', reason: this.hazard };
      }
      throw err;
    }
    if (!pl.lab.alive)
      return { status: 'broken', reason: `the lab child is gone: ${JSON.stringify(pl.lab.end)}` };
    try {
      const r = this.runIn(pl, s);
      if (r.status === 'observed') r.elapsedMs = performance.now() - t0;
      return r;
    } catch (err) {
      // A dead child or a failed harness step: the case is broken, the run goes on.
      const msg = (err as Error).message;
      if (!pl.lab.alive) {
        if (pl === this.main) this.main = undefined;
        else this.isolated = undefined;
        pl.close();
      }
      return { status: 'broken', reason: msg };
    }
  }

  /**
   * An accounting case in a child of its own: the usual evidence for one
   * cycle, then Committed_AS around `repeat` cycles without and with the
   * call, and once more after the child is gone.
   */
  private runAccounting(s: Scenario, t0: number): CaseRun {
    const committedKb = () => meminfo().get('Committed_AS') ?? NaN;
    const before = committedKb();
    let pl: PressureLab;
    try {
      pl = this.open();
    } catch (err) {
      if (err instanceof LabHazardError)
        return { status: 'skip', reason: `could not run here: ${err.message}` };
      throw err;
    }
    let first: CaseRun;
    let measure: Omit<AccountingMeasure, 'exitResidualKb'>;
    try {
      first = this.runIn(pl, s);
      if (first.status !== 'observed') return first;
      measure = this.cycles(pl, s);
    } catch (err) {
      return { status: 'broken', reason: (err as Error).message };
    } finally {
      pl.close();
    }
    const exitResidualKb = committedKb() - before;
    return {
      ...first,
      accounting: { ...measure, exitResidualKb },
      elapsedMs: performance.now() - t0,
    };
  }

  private cycles(pl: PressureLab, s: Scenario): Omit<AccountingMeasure, 'exitResidualKb'> {
    const lab = pl.lab;
    const P = BigInt(this.facts.pageSize);
    const c = native().constants;
    const n = s.repeat ?? 200;
    const W = pl.arena.regionBase / P;
    const { windowPages, newPages } = resolveSizes(s, this.facts);
    const at = (page: number) => (W + BigInt(page)) * P;
    const committed: LabOp = { op: 'procField', args: [0, ...packName('Committed_AS')] };
    const map: LabOp[] = s.layout.map((p) => ({
      op: 'mmap' as const,
      args: [
        at(p.page),
        BigInt(p.pages) * P,
        PROT[p.prot],
        c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED_NOREPLACE,
        -1,
        0,
      ],
      stopOnError: true,
    }));
    const call = s.call;
    const flags = call.flags.reduce((f, x) => f | (x === 'MAYMOVE' ? 1 : x === 'FIXED' ? 2 : 4), 0);
    const mremap: LabOp = {
      op: 'mremap',
      args: [
        at(call.old),
        BigInt(call.oldPages) * P,
        BigInt(newPages) * P,
        flags,
        typeof call.newAddr === 'number' ? at(call.newAddr) : 0n,
      ],
      stopOnError: true,
    };
    const unmap: LabOp = {
      op: 'munmap',
      args: [at(0), BigInt(windowPages) * P],
      stopOnError: true,
    };
    const run = (ops: LabOp[]) => {
      const res = lab.exec(ops);
      const bad = res.find((r) => r.ret < 0n);
      if (bad || res.length < ops.length) {
        throw new Error(
          `an accounting cycle failed: ${bad ? `${bad.op} ${native().errnoName(-Number(bad.ret))}` : 'stopped'}`,
        );
      }
      return res;
    };
    // Every cycle is read on its own, right after a control cycle without the
    // mremap: the drift is the median over the cycles. Committed_AS is
    // machine-wide and other processes move it in bursts; a burst sways a
    // few cycles, never the median.
    const pageKb = this.facts.pageSize / 1024;
    let controlDeltaKb = 0;
    let testDeltaKb = 0;
    const drifts: number[] = [];
    const perBatch = Math.max(1, Math.floor(4000 / (2 * map.length + 5)));
    for (let done = 0; done < n; done += perBatch) {
      const ops: LabOp[] = [committed];
      for (let k = done; k < Math.min(n, done + perBatch); k++) {
        ops.push(...map, unmap, committed, ...map, mremap, unmap, committed);
      }
      const reads = run(ops)
        .filter((r) => r.op === 'procField')
        .map((r) => Number(r.ret));
      for (let k = 0; k + 2 < reads.length; k += 2) {
        const control = reads[k + 1]! - reads[k]!;
        const test = reads[k + 2]! - reads[k + 1]!;
        controlDeltaKb += control;
        testDeltaKb += test;
        drifts.push((test - control) / pageKb);
      }
    }
    drifts.sort((a, b) => a - b);
    // One cycle read step by step, several times over: the reading seen most
    // often is kept, as other processes move Committed_AS in bursts.
    const seen = new Map<string, number>();
    for (let k = 0; k < ACCOUNTING_DETAIL; k++) {
      const reads = run([committed, ...map, committed, mremap, committed, unmap, committed])
        .filter((r) => r.op === 'procField')
        .map((r) => Number(r.ret));
      const key = [1, 2, 3].map((i) => reads[i]! - reads[0]!).join(',');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const [mapped, called, unmapped] = [...seen]
      .sort((x, y) => y[1] - x[1])[0]![0]
      .split(',')
      .map(Number) as [number, number, number];
    return {
      iterations: drifts.length,
      controlDeltaKb,
      testDeltaKb,
      driftPagesPerCycle: Math.round(drifts[Math.floor(drifts.length / 2)]! * 100) / 100,
      oneCycleKb: { mapped, called, unmapped },
    };
  }

  private runIn(pl: PressureLab, s: Scenario): CaseRun {
    const lab = pl.lab;
    const P = this.facts.pageSize;
    const BP = BigInt(P);
    const M = this.facts.maxMapCount;
    const { windowPages, newPages } = resolveSizes(s, this.facts);
    if (BigInt(windowPages) * BP > pl.arena.regionBytes) {
      return {
        status: 'skip',
        reason: `the case needs ${windowPages} pages of address space; the lab has ${pl.arena.regionBytes / BP}`,
      };
    }
    const W = Number(pl.arena.regionBase / BP);
    const addr = (page: number) => BigInt(W + page) * BP;
    const low = s.call.newAddr === 'zero' ? ([0, newPages] as [number, number]) : undefined;

    // Room for the layout: fillers down (or gone) before building it.
    const pieces = s.layout.length;
    if (s.pressure === null) pl.setFillers(0);
    else pl.setFillers(M + s.pressure - pieces - 8 - pl.nonFillers);

    const nonce = BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 52)) * 4099n + 1n);
    const memfds = new Map<number, number>();
    const memfdOps: LabOp[] = s.layout.flatMap((p) =>
      p.backing === 'memfd'
        ? [
            {
              op: 'memfd' as const,
              args: [BigInt(p.objectPages ?? p.pages) * BP],
              stopOnError: true,
            },
          ]
        : [],
    );
    if (memfdOps.length) {
      const res = lab.exec(memfdOps);
      let k = 0;
      s.layout.forEach((p, i) => {
        if (p.backing === 'memfd') memfds.set(i, Number(res[k++]!.ret));
      });
      if (res.some((r) => r.ret < 0n)) throw new Error('memfd_create failed in the lab');
    }
    const teardown = () => {
      const ops: LabOp[] = [{ op: 'munmap', args: [addr(0), BigInt(windowPages) * BP] }];
      if (low) ops.push({ op: 'munmap', args: [0n, BigInt(low[1]) * BP] });
      for (const fd of memfds.values()) ops.push({ op: 'close', args: [fd] });
      lab.exec(ops);
    };

    const c = native().constants;
    const layoutOps: LabOp[] = [];
    s.layout.forEach((p: Piece, i) => {
      const a = addr(p.page);
      const len = BigInt(p.pages) * BP;
      const flags =
        (p.backing === 'anon' ? c.MAP_PRIVATE | c.MAP_ANONYMOUS : c.MAP_SHARED) |
        (p.backing === 'shmem' ? c.MAP_ANONYMOUS : 0) |
        c.MAP_FIXED_NOREPLACE;
      layoutOps.push(
        { op: 'mmap', args: [a, len, 3, flags, memfds.get(i) ?? -1, 0], stopOnError: true },
        { op: 'stamp', args: [a, p.pages, i + 1, 0, nonce], stopOnError: true },
      );
      if (p.prot !== 'rw')
        layoutOps.push({ op: 'mprotect', args: [a, len, PROT[p.prot]], stopOnError: true });
      if (p.mlock) layoutOps.push({ op: 'mlock', args: [a, len], stopOnError: true });
    });
    const ranges: [number, number][] = [[W, W + windowPages]];
    if (low) ranges.push(low);
    // The same spans are read before and after the call.
    // The same spans of pages are read before and after the call.
    const pageSpans = this.evidencePages(s, W, windowPages, newPages, low);
    const evidenceOps = (): LabOp[] => {
      const ops: LabOp[] = [];
      for (const [a, b] of ranges)
        ops.push({ op: 'query', args: [BigInt(a) * BP, BigInt(b) * BP] });
      for (const [a, n] of pageSpans) {
        ops.push({ op: 'check', args: [BigInt(a) * BP, n, nonce] });
      }
      return ops;
    };
    const readEvidence = (res: { op: string; data: Buffer; v: bigint[] }[]) => {
      const vmas: VmaSnapshot[] = [];
      const pages = new Map<number, PageWord>();
      let method: 'ioctl' | 'text' = 'ioctl';
      let k = 0;
      for (const r of res) {
        if (r.op === 'query') {
          vmas.push(...decodeVmas(r.data));
          if (r.v[0] === 2n) method = 'text';
        } else if (r.op === 'check') {
          const [start] = pageSpans[k++]!;
          decodePages(r.data).forEach((p, i) => pages.set(start + i, pageWord(p)));
        }
      }
      return { vmas: vmaViews(vmas, P), pages, method };
    };

    let built = false;
    try {
      const lr = lab.exec(layoutOps);
      built = true;
      const bad = lr.find((r) => r.ret < 0n);
      if (bad || lr.length < layoutOps.length) {
        const code = bad ? native().errnoName(-Number(bad.ret)) : 'stopped';
        return {
          status: 'broken',
          reason: `laying out the region failed: ${bad?.op ?? '?'} ${code}`,
        };
      }
      const misplaced = lr.find(
        (r, i) => layoutOps[i]!.op === 'mmap' && r.ret !== layoutOps[i]!.args![0],
      );
      if (misplaced)
        return { status: 'broken', reason: 'a layout mmap did not land at its address' };

      const beforeRes = lab.exec(evidenceOps());
      const before = readEvidence(beforeRes);
      pl.adjustOthers(before.vmas.length);

      // The model's view of the same layout must be what the lab built.
      const plannedWindow: PlacedCase = {
        scenario: s,
        window: W,
        windowPages,
        newPages,
        mapCount: 0,
        totalVm: 0,
        dataVm: 0,
        lockedVm: 0,
      };
      const planned = modelVmaViews(layoutState(plannedWindow), ranges);
      if (JSON.stringify(planned) !== JSON.stringify(before.vmas)) {
        return {
          status: 'broken',
          reason: `the region came out different from the layout: planned ${fmtVmas(planned, W)}, got ${fmtVmas(before.vmas, W)}`,
        };
      }

      let mapCountMethod: Observation['mapCountMethod'] = 'tracked';
      if (s.pressure !== null) {
        const verify = !this.verifiedOnce;
        const reading = pl.reach(M + s.pressure, { verify });
        if (verify) {
          this.verifiedOnce = true;
          mapCountMethod = 'counted';
        }
        if (reading.mapCount !== M + s.pressure) {
          return {
            status: 'broken',
            reason: `could not bring the map count to ${M + s.pressure}: ${reading.reason}`,
          };
        }
      } else if (!this.verifiedOnce) {
        pl.count();
        mapCountMethod = 'counted';
      }
      const mapCountBefore = pl.trackedCount;

      // The environment the checks read.
      const envRes = lab.exec([
        { op: 'procField', args: [1, ...packName('VmSize')] },
        { op: 'procField', args: [1, ...packName('VmData')] },
        { op: 'procField', args: [1, ...packName('VmLck')] },
        { op: 'getrlimit', args: [c.RLIMIT_AS] },
        { op: 'getrlimit', args: [c.RLIMIT_DATA] },
        { op: 'getrlimit', args: [c.RLIMIT_MEMLOCK] },
      ]);
      const kb2p = (v: bigint) => Number((v * 1024n) / BP);
      const lim = (v: bigint) => (v === c.RLIM_INFINITY ? Infinity : Number(v / BP));
      const totalVm = kb2p(envRes[0]!.ret);
      const dataVm = kb2p(envRes[1]!.ret);
      const lockedVm = kb2p(envRes[2]!.ret);
      const asLim = envRes[3]!.v;
      const memlockLim = envRes[5]!.v;
      const setOps: LabOp[] = [];
      const restoreOps: LabOp[] = [];
      let rlimitAs = lim(asLim[0]!);
      let rlimitMemlock = lim(memlockLim[0]!);
      if (s.limits?.as) {
        rlimitAs = totalVm + s.limits.as.headroom;
        setOps.push({
          op: 'setrlimit',
          args: [c.RLIMIT_AS, BigInt(rlimitAs) * BP, asLim[1]!],
          stopOnError: true,
        });
        restoreOps.push({ op: 'setrlimit', args: [c.RLIMIT_AS, asLim[0]!, asLim[1]!] });
      }
      if (s.limits?.memlock) {
        rlimitMemlock = lockedVm + s.limits.memlock.headroom;
        setOps.push({
          op: 'setrlimit',
          args: [c.RLIMIT_MEMLOCK, BigInt(rlimitMemlock) * BP, memlockLim[1]!],
          stopOnError: true,
        });
        restoreOps.push({
          op: 'setrlimit',
          args: [c.RLIMIT_MEMLOCK, memlockLim[0]!, memlockLim[1]!],
        });
      }
      for (const cap of s.requires?.dropCaps ?? []) {
        setOps.push({ op: 'dropCap', args: [CAP_NUMBERS[cap]], stopOnError: true });
        this.dropped.add(cap);
      }
      if (setOps.length) {
        const sr = lab.exec(setOps);
        if (sr.some((r) => r.ret < 0n) || sr.length < setOps.length) {
          return {
            status: 'broken',
            reason: 'could not set the limits or drop the capabilities the case needs',
          };
        }
      }
      const has = (cap: Capability) =>
        (this.facts.capEff & (1n << BigInt(CAP_NUMBERS[cap]))) !== 0n && !this.dropped.has(cap);
      const inputs: CaseInputs = {
        totalVm,
        dataVm,
        lockedVm,
        rlimitAs,
        rlimitData: lim(envRes[4]!.v[0]!),
        rlimitMemlock,
        capIpcLock: has('CAP_IPC_LOCK'),
        capSysRawio: has('CAP_SYS_RAWIO'),
      };

      // The call, the evidence right after it, and the limits put back: one round trip.
      const placed: PlacedCase = {
        scenario: s,
        window: W,
        windowPages,
        newPages,
        mapCount: mapCountBefore,
        totalVm,
        dataVm,
        lockedVm,
      };
      const call = callOf(placed);
      const callRes = lab.exec([
        {
          op: 'mremap',
          args: [
            BigInt(call.old) * BP,
            BigInt(call.oldLen) * BP,
            BigInt(call.newLen) * BP,
            call.flags,
            BigInt(call.newAddr) * BP,
          ],
        },
        ...evidenceOps(),
        ...restoreOps,
      ]);
      const ret = callRes[0]!.ret;
      const after = readEvidence(callRes.slice(1));
      pl.adjustOthers(after.vmas.length - before.vmas.length);
      const obs: Observation = {
        ret:
          ret >= 0n
            ? { ok: true, value: ret }
            : { ok: false, errno: native().errnoName(-Number(ret)) },
        vmasBefore: before.vmas,
        vmasAfter: after.vmas,
        pagesBefore: before.pages,
        pagesAfter: after.pages,
        mapCountBefore,
        mapCountAfter: pl.trackedCount,
        mapCountMethod,
        queryMethod: before.method,
      };
      pl.adjustOthers(-after.vmas.length);
      return { status: 'observed', placed, obs, inputs, elapsedMs: 0 };
    } finally {
      if (built || memfds.size) {
        try {
          teardown();
        } catch {
          // The child died: nothing left to tear down.
        }
      }
    }
  }

  /** The pages to read back: the whole window when small, else the layout, the old range and the ends of the new range. */
  private evidencePages(
    s: Scenario,
    W: number,
    windowPages: number,
    newPages: number,
    low?: [number, number],
  ): [number, number][] {
    const spans: [number, number][] = [];
    if (windowPages <= MAX_EVIDENCE) spans.push([W, windowPages]);
    else {
      const add = (a: number, n: number) => spans.push([W + a, Math.min(n, 64)]);
      for (const p of s.layout) add(p.page, p.pages);
      add(s.call.old, s.call.oldPages + 2);
      if (typeof s.call.newAddr === 'number') {
        add(s.call.newAddr, 16);
        add(s.call.newAddr + newPages - 16, 16);
      }
    }
    if (low) spans.push([low[0], Math.min(low[1], 64)]);
    return spans;
  }
}

/** Run order: no pressure, then lower counts first, then cases with dropped capabilities. */
function rank(s: Scenario): number {
  const isolated = s.requires?.dropCaps?.length ? 1_000_000 : 0;
  return isolated + (s.pressure === null ? -1000 : s.pressure);
}

function fmtVmas(v: VmaView[], W: number): string {
  return v.map((x) => `[${x.start - W},${x.end - W}) ${x.perms}`).join(' ') || 'nothing';
}
