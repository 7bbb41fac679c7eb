// Accounting cases: the usual evidence for one cycle, then Committed_AS read
// around `repeat` cycles without and with the call, and once more after the
// child is gone. Committed_AS is machine-wide: other processes move it in
// bursts, so every cycle is read on its own right after a control cycle, and
// the drift is the median over the cycles.
import { PROT_BITS } from '../bits.js';
import { ACCOUNTING_DETAIL } from '../judge/accounting.js';
import { meminfo } from '../kernel.js';
import { native } from '../native.js';
import type { AccountingMeasure } from '../observation.js';
import { addressOf, type Placement } from '../placement.js';
import type { PressureLab } from '../pressure.js';
import { op, type LabOp, type LabResult } from '../protocol.js';

export function committedKb(): number {
  return meminfo().get('Committed_AS') ?? NaN;
}

/** The cycles of an accounting case whose first run was observed with placement `p`. */
export function accountingCycles(
  pl: PressureLab,
  p: Placement,
  repeat: number,
): Omit<AccountingMeasure, 'exitResidualKb'> {
  const lab = pl.lab;
  const c = native().constants;
  const at = (page: number) => addressOf(p, page);
  const committed = op.procField({ file: 'meminfo', name: 'Committed_AS' });
  // The accounting layouts are private anonymous pieces, mapped with their protection.
  const map: LabOp[] = p.pieces.map((x) =>
    op.mmap({
      addr: at(x.start),
      length: at(x.end - x.start),
      prot: PROT_BITS[x.piece.prot],
      flags: c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED_NOREPLACE,
      stop: true,
    }),
  );
  const call = p.call;
  const mremap = op.mremap({
    old: at(call.old),
    oldLength: at(call.oldLen),
    newLength: at(call.newLen),
    flags: call.flags,
    newAddr: at(call.newAddr),
    stop: true,
  });
  const unmap = op.munmap({ addr: at(p.window), length: at(p.windowPages), stop: true });
  const run = (ops: LabOp[]): LabResult[] => {
    const res = lab.exec(ops);
    const bad = res.find((r) => r.ret < 0n);
    if (bad || res.length < ops.length) {
      throw new Error(
        `an accounting cycle failed: ${bad ? `${bad.op} ${native().errnoName(-Number(bad.ret))}` : 'stopped'}`,
      );
    }
    return res;
  };
  const reads = (res: LabResult[]) =>
    res.filter((r) => r.op === 'procField').map((r) => Number(r.ret));
  const pageKb = p.pageSize / 1024;
  let controlDeltaKb = 0;
  let testDeltaKb = 0;
  const drifts: number[] = [];
  const perBatch = Math.max(1, Math.floor(4000 / (2 * map.length + 5)));
  for (let done = 0; done < repeat; done += perBatch) {
    const ops: LabOp[] = [committed];
    for (let k = done; k < Math.min(repeat, done + perBatch); k++) {
      ops.push(...map, unmap, committed, ...map, mremap, unmap, committed);
    }
    const r = reads(run(ops));
    for (let k = 0; k + 2 < r.length; k += 2) {
      const control = r[k + 1]! - r[k]!;
      const test = r[k + 2]! - r[k + 1]!;
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
    const r = reads(run([committed, ...map, committed, mremap, committed, unmap, committed]));
    const key = [1, 2, 3].map((i) => r[i]! - r[0]!).join(',');
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
