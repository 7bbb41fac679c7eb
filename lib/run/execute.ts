// Runs one placed case in a lab child and gathers the evidence: the region
// laid out and stamped, the map count brought to the case's offset from the
// limit, the environment the kernel's checks read, the call, and the region
// read back. Everything the child does comes from the placement.
// Slightly over 400 lines: the case's steps in the order the child runs
// them, which reads best unbroken.
import type { MachineFacts } from '../facts.js';
import {
  modelVmaViews,
  sameVmas,
  vmaViews,
  type Pages,
  type Snapshot,
  type VmaView,
} from '../judge/evidence.js';
import { ERA_MERGES } from '../model/eras/index.js';
import { layoutState } from '../model/predict.js';
import { eraOfVersion } from '../model/types.js';
import { native } from '../native.js';
import type { CaseInputs, CaseRun, Observation } from '../observation.js';
import { addressOf, MAX_EVIDENCE, place, resolveSizes, type Placement } from '../placement.js';
import type { PressureLab } from '../pressure.js';
import { decodePages, decodeVmas, op, protocol, type LabOp, type LabResult } from '../protocol.js';
import type { BackingKind, Capability, Scenario } from '../scenarios/types.js';

export const CAP_NUMBERS: Readonly<Record<Capability, number>> = {
  CAP_IPC_LOCK: 14,
  CAP_SYS_RAWIO: 17,
};

/** Errors of a layout step that the environment causes (limits), not the harness. */
const ENVIRONMENT_ERRNOS = new Set(['ENOMEM', 'EAGAIN', 'EPERM']);

export interface ExecContext {
  facts: MachineFacts;
  /** Count the child's maps for this case rather than trusting the tracking. */
  verify: boolean;
  /** The lab child's effective capabilities, as the cases left them. */
  caps: CapState;
}

/**
 * The capabilities a lab child's effective set is without (names, sorted and
 * joined: '' for none), or null when a failed batch left it unknown. A case
 * sets the effective set only when it wants another one.
 */
export interface CapState {
  without: string | null;
}

/** The lab operations of the layout steps; `fds` holds the memfd of each memfd piece. */
function layoutOps(p: Placement, fds: Map<number, number>, nonce: bigint): LabOp[] {
  const c = native().constants;
  const at = (page: number) => addressOf(p, page);
  const len = (pages: number) => addressOf(p, pages);
  const flags: Record<BackingKind, number> = {
    anon: c.MAP_PRIVATE | c.MAP_ANONYMOUS,
    shmem: c.MAP_SHARED | c.MAP_ANONYMOUS,
    memfd: c.MAP_SHARED,
  };
  const ops: LabOp[] = [];
  for (const s of p.layout) {
    const range = { addr: at(s.kind === 'memfd' ? 0 : s.start), length: len(s.pages), stop: true };
    switch (s.kind) {
      case 'memfd':
        break; // made before, in their own batch
      case 'mmap':
        ops.push(
          op.mmap({
            ...range,
            prot: c.PROT_READ | c.PROT_WRITE,
            flags: flags[s.backing] | c.MAP_FIXED_NOREPLACE,
            fd: fds.get(s.piece) ?? -1,
          }),
        );
        break;
      case 'stamp':
        ops.push(
          op.stamp({ addr: range.addr, pages: s.pages, object: s.object, nonce, stop: true }),
        );
        break;
      case 'mprotect':
        ops.push(op.mprotect({ ...range, prot: s.prot }));
        break;
      case 'mlock':
        ops.push(op.mlock(range));
        break;
    }
  }
  return ops;
}

/** The queries of the case's ranges and the page checks of its evidence spans. */
function evidenceOps(p: Placement, nonce: bigint): LabOp[] {
  return [
    ...p.ranges.map(([a, b]) => op.query({ start: addressOf(p, a), end: addressOf(p, b) })),
    ...p.evidence.map(([a, n]) => op.check({ addr: addressOf(p, a), pages: n, nonce })),
  ];
}

/** Reads back what evidenceOps() asked for. */
function readEvidence(p: Placement, res: LabResult[]): Snapshot & { method: 'ioctl' | 'text' } {
  const pages: Pages = new Map();
  const vmas: VmaView[] = [];
  let method: 'ioctl' | 'text' = 'ioctl';
  let k = 0;
  for (const r of res) {
    if (r.op === 'query') {
      if (r.ret < 0n)
        throw new Error(`reading the region failed: ${native().errnoName(-Number(r.ret))}`);
      vmas.push(...vmaViews(decodeVmas(r.data), p.pageSize));
      if (r.v[0] === BigInt(protocol().queryMethod.text)) method = 'text';
    } else if (r.op === 'check') {
      const [start] = p.evidence[k++]!;
      decodePages(r.data).forEach((state, i) => pages.set(start + i, state));
    }
  }
  // The ranges are queried in turn; the model lists VMAs by address.
  vmas.sort((a, b) => a.start - b.start);
  return { vmas, pages, method };
}

/** VMAs the queries of a batch found. */
function queriedVmas(res: LabResult[]): number {
  return res.filter((r) => r.op === 'query').reduce((n, r) => n + Math.max(0, Number(r.ret)), 0);
}

/** The page range a successful call returned, when it lies outside the case's ranges. */
function pickedRange(p: Placement, ret: bigint): [number, number] | undefined {
  const P = BigInt(p.pageSize);
  if (ret % P !== 0n) return undefined;
  const start = Number(ret / P);
  const end = start + p.newPages;
  if (p.ranges.some(([a, b]) => end > a && start < b)) return undefined;
  return [start, end];
}

/** The query and page check of one range. */
function evidenceAt(p: Placement, [a, b]: [number, number], nonce: bigint): LabOp[] {
  return [
    op.query({ start: addressOf(p, a), end: addressOf(p, b) }),
    op.check({ addr: addressOf(p, a), pages: Math.min(b - a, MAX_EVIDENCE), nonce }),
  ];
}

function fmtVmas(v: VmaView[], W: number): string {
  return v.map((x) => `[${x.start - W},${x.end - W}) ${x.perms}`).join(' ') || 'nothing';
}

function errnoOf(r: LabResult | undefined): string {
  return r ? native().errnoName(-Number(r.ret)) : 'stopped';
}

/**
 * Runs a scenario in a prepared lab. Throws only when the child dies or the
 * harness fails. A locked-vm case also reports the child's VmLck before its
 * layout and after its window was unmapped.
 */
export function executeCase(pl: PressureLab, s: Scenario, ctx: ExecContext): CaseRun {
  const r = runCase(pl, s, ctx);
  if (r.status === 'observed' && r.lockedVm) r.lockedVm.afterKb = pl.lockedKb;
  return r;
}

function runCase(pl: PressureLab, s: Scenario, ctx: ExecContext): CaseRun {
  const lab = pl.lab;
  const { facts } = ctx;
  const P = facts.pageSize;
  const BP = BigInt(P);
  const M = facts.maxMapCount;
  const { windowPages } = resolveSizes(s, facts);
  if (BigInt(windowPages) * BP > pl.arena.regionBytes) {
    return {
      status: 'skip',
      reason: `the case needs ${windowPages} pages of address space; the lab has ${pl.arena.regionBytes / BP}`,
    };
  }
  const p = place(s, facts, Number(pl.arena.regionBase / BP));
  // The tracker follows what a query of the ranges reports (with a range the kernel picked).
  const extra: [number, number][] = [];
  const all = () => [...p.ranges, ...extra];
  const queryRanges = () =>
    all().map(([a, b]) => op.query({ start: addressOf(p, a), end: addressOf(p, b) }));
  const observe = (res: LabResult[]) => pl.observeRegion(queriedVmas(res));

  // Room for the layout: fillers down (or gone) before building it.
  if (s.pressure === null) pl.setFillers(0);
  else pl.setFillers(M + s.pressure - s.layout.length - 8 - pl.nonFillers);

  const nonce = BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 52)) * 4099n + 1n);
  const fds = new Map<number, number>();
  const vmLck = () => op.procField({ file: 'status', name: 'VmLck' });
  const teardown = () => {
    const ops: LabOp[] = all().map(([a, b]) =>
      op.munmap({ addr: addressOf(p, a), length: addressOf(p, b - a) }),
    );
    for (const fd of fds.values()) ops.push(op.close({ fd }));
    const res = lab.exec([...ops, ...queryRanges(), vmLck()]);
    observe(res);
    // What the child has locked with the window gone: a kernel that leaks locked_vm shows here.
    pl.lockedKb = Math.max(0, Number(res.at(-1)!.ret));
  };
  const lockedBeforeKb =
    s.invariant === 'locked-vm' ? Math.max(0, Number(lab.exec([vmLck()])[0]!.ret)) : 0;

  try {
    const memfdSteps = p.layout.filter((x) => x.kind === 'memfd');
    if (memfdSteps.length) {
      const res = lab.exec(
        memfdSteps.map((x) => op.memfd({ size: addressOf(p, x.pages), stop: true })),
      );
      res.forEach((r, i) => {
        if (r.ret >= 0n) fds.set(memfdSteps[i]!.piece, Number(r.ret));
      });
      if (fds.size < memfdSteps.length) {
        return {
          status: 'broken',
          reason: `memfd_create failed in the lab: ${errnoOf(res.find((r) => r.ret < 0n))}`,
        };
      }
    }
    const ops = layoutOps(p, fds, nonce);
    const lr = lab.exec(ops);
    const bad = lr.find((r) => r.ret < 0n);
    if (bad || lr.length < ops.length) {
      const code = errnoOf(bad);
      const what = `laying out the region failed: ${bad?.op ?? '?'} ${code}`;
      // A limit of the environment (RLIMIT_MEMLOCK, RLIMIT_AS...) keeps this case from being set up: the others go on.
      return ENVIRONMENT_ERRNOS.has(code)
        ? { status: 'skip', reason: `could not set the case up here: ${what}` }
        : { status: 'broken', reason: what };
    }
    if (lr.some((r, i) => ops[i]!.op === 'mmap' && r.ret !== ops[i]!.args[0])) {
      return { status: 'broken', reason: 'a layout mmap did not land at its address' };
    }

    const beforeRes = lab.exec(evidenceOps(p, nonce));
    observe(beforeRes);
    const before = readEvidence(p, beforeRes);

    // The model's view of the same layout must be what the lab built.
    const planned = modelVmaViews(
      layoutState(
        p,
        { mapCount: 0, totalVm: 0, dataVm: 0, lockedVm: 0 },
        ERA_MERGES[eraOfVersion(facts.version)](facts.version),
      ),
      p.ranges,
    );
    if (!sameVmas(planned, before.vmas)) {
      return {
        status: 'broken',
        reason: `the region came out different from the layout: planned ${fmtVmas(planned, p.window)}, got ${fmtVmas(before.vmas, p.window)}`,
      };
    }

    let mapCountMethod: Observation['mapCountMethod'] = 'tracked';
    if (s.pressure !== null) {
      const reading = pl.reach(M + s.pressure, { verify: ctx.verify });
      if (ctx.verify) mapCountMethod = 'counted';
      if (reading.mapCount !== M + s.pressure) {
        return {
          status: 'broken',
          reason: `could not bring the map count to ${M + s.pressure}: ${reading.reason}`,
        };
      }
    } else if (ctx.verify) {
      pl.count();
      mapCountMethod = 'counted';
    }
    const mapCountBefore = pl.trackedCount;

    const limits = limitOps(lab.exec(envOps()), s, ctx, BP);
    if (limits.unmet) return { status: 'skip', reason: `could not run here: ${limits.unmet}` };
    if (limits.set.length) {
      const sr = lab.exec(limits.set);
      if (sr.some((r) => r.ret < 0n) || sr.length < limits.set.length) {
        // Put back what was set before the failure: a tight RLIMIT_AS left
        // behind would refuse every later mapping in this child.
        lab.exec(limits.restore);
        ctx.caps.without = null;
        return {
          status: 'broken',
          reason: 'could not set the limits or drop the capabilities the case needs',
        };
      }
    }

    ctx.caps.without = limits.capsWithout;
    // The call, the evidence right after it, and the limits put back: one round trip.
    const callRes = lab.exec([op.mremap(p.args), ...evidenceOps(p, nonce), ...limits.restore]);
    const ret = callRes[0]!.ret;
    const afterRes = callRes.slice(1);
    const after = readEvidence(p, afterRes);
    let queried = queriedVmas(afterRes);
    // A range the kernel picked, outside the case's ranges: read it back too,
    // and show it where the model puts such a range.
    const moved = ret >= 0n ? pickedRange(p, ret) : undefined;
    if (moved) {
      extra.push(moved);
      const res = lab.exec(evidenceAt(p, moved, nonce));
      queried += queriedVmas(res);
      const shift = p.picked - moved[0];
      const seen = readEvidence(
        { ...p, evidence: [[moved[0], Math.min(moved[1] - moved[0], MAX_EVIDENCE)]] },
        res,
      );
      for (const v of seen.vmas)
        after.vmas.push({ ...v, start: v.start + shift, end: v.end + shift });
      after.vmas.sort((a, b) => a.start - b.start);
      for (const [page, state] of seen.pages) after.pages.set(page + shift, state);
    }
    pl.observeRegion(queried);
    const obs: Observation = {
      ret: ret >= 0n ? { ok: true, value: ret } : { ok: false, errno: errnoOf(callRes[0]) },
      before: { vmas: before.vmas, pages: before.pages },
      after: { vmas: after.vmas, pages: after.pages },
      mapCountBefore,
      mapCountAfter: pl.trackedCount,
      mapCountMethod,
      queryMethod: before.method,
      ...(moved ? { movedTo: moved[0] } : {}),
    };
    return {
      status: 'observed',
      placement: p,
      obs,
      inputs: limits.inputs,
      elapsedMs: 0,
      ...(s.invariant === 'locked-vm'
        ? { lockedVm: { beforeKb: lockedBeforeKb, afterKb: 0 } }
        : {}),
    };
  } finally {
    if (lab.alive) teardown();
  }
}

/** What the kernel's checks read: the child's VmSize, VmData, VmLck and its limits. */
function envOps(): LabOp[] {
  const c = native().constants;
  return [
    op.procField({ file: 'status', name: 'VmSize' }),
    op.procField({ file: 'status', name: 'VmData' }),
    op.procField({ file: 'status', name: 'VmLck' }),
    op.getrlimit({ resource: c.RLIMIT_AS }),
    op.getrlimit({ resource: c.RLIMIT_DATA }),
    op.getrlimit({ resource: c.RLIMIT_MEMLOCK }),
  ];
}

/** The limits and capabilities a case sets before its call, how to put them back, and the model's inputs. */
function limitOps(
  env: LabResult[],
  s: Scenario,
  ctx: ExecContext,
  BP: bigint,
): { set: LabOp[]; restore: LabOp[]; inputs: CaseInputs; capsWithout: string; unmet?: string } {
  const c = native().constants;
  const kb2p = (v: bigint) => Number((v * 1024n) / BP);
  const lim = (v: bigint) => (v === c.RLIM_INFINITY ? Infinity : Number(v / BP));
  const [size, data, lck, as, dataLim, memlock] = env as [
    LabResult,
    LabResult,
    LabResult,
    LabResult,
    LabResult,
    LabResult,
  ];
  const totalVm = kb2p(size.ret);
  const lockedVm = kb2p(lck.ret);
  const set: LabOp[] = [];
  const restore: LabOp[] = [];
  let rlimitAs = lim(as.v[0]);
  let rlimitMemlock = lim(memlock.v[0]);
  if (s.limits?.as) {
    rlimitAs = totalVm + s.limits.as.headroom;
    set.push(
      op.setrlimit({ resource: c.RLIMIT_AS, cur: BigInt(rlimitAs) * BP, max: as.v[1], stop: true }),
    );
    restore.push(op.setrlimit({ resource: c.RLIMIT_AS, cur: as.v[0], max: as.v[1] }));
  }
  if (s.limits?.memlock) {
    rlimitMemlock = lockedVm + s.limits.memlock.headroom;
    set.push(
      op.setrlimit({
        resource: c.RLIMIT_MEMLOCK,
        cur: BigInt(rlimitMemlock) * BP,
        max: memlock.v[1],
        stop: true,
      }),
    );
    restore.push(
      op.setrlimit({ resource: c.RLIMIT_MEMLOCK, cur: memlock.v[0], max: memlock.v[1] }),
    );
  }
  // A soft limit cannot go above the hard one the environment set.
  const over = (name: string, want: number, max: bigint) =>
    max !== c.RLIM_INFINITY && BigInt(want) * BP > max
      ? `the case sets ${name} to ${want} pages, above its hard limit of ${max} bytes here`
      : undefined;
  const unmet =
    (s.limits?.as && over('RLIMIT_AS', rlimitAs, as.v[1])) ||
    (s.limits?.memlock && over('RLIMIT_MEMLOCK', rlimitMemlock, memlock.v[1])) ||
    undefined;
  // The capabilities the case gives up leave the effective set only (first,
  // before the limits); the next case that wants them back takes them back.
  const without = [...(s.requires?.dropCaps ?? [])].sort();
  const capsWithout = without.join(',');
  if (!unmet && ctx.caps.without !== capsWithout) {
    let caps = ctx.facts.capEff;
    for (const cap of without) caps &= ~(1n << BigInt(CAP_NUMBERS[cap]));
    set.unshift(op.effectiveCaps({ caps, stop: true }));
  }
  const has = (cap: Capability) =>
    (ctx.facts.capEff & (1n << BigInt(CAP_NUMBERS[cap]))) !== 0n && !without.includes(cap);
  return {
    set,
    restore,
    capsWithout,
    ...(unmet ? { unmet } : {}),
    inputs: {
      totalVm,
      dataVm: kb2p(data.ret),
      lockedVm,
      rlimitAs,
      rlimitData: lim(dataLim.v[0]),
      rlimitMemlock,
      capIpcLock: has('CAP_IPC_LOCK'),
      capSysRawio: has('CAP_SYS_RAWIO'),
    },
  };
}
