// Accounting cases: the usual evidence for one cycle, then Committed_AS read
// around `repeat` cycles without and with the call, and once more after the
// child is gone. Committed_AS is machine-wide: other processes move it in
// bursts, so every cycle is read on its own right after a control cycle, and
// each figure is the median over the cycles: a burst sways a few cycles,
// never the median.
import { PROT_BITS } from '../bits.js';
import { meminfo } from '../kernel.js';
import { native } from '../native.js';
import type { AccountingMeasure } from '../observation.js';
import { addressOf, type Placement } from '../placement.js';
import type { PressureLab } from '../pressure.js';
import { op, protocol, type LabOp, type LabResult } from '../protocol.js';

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
  // Each cycle: a control (map, unmap), then the test (map, call, unmap),
  // Committed_AS read between every step. Per cycle: the drift is what the
  // test leaves minus what the control leaves; the steps of the test are read
  // from the end of the control.
  let controlDeltaKb = 0;
  let testDeltaKb = 0;
  const drifts: number[] = [];
  const steps: [number[], number[], number[]] = [[], [], []];
  const cycle = [...map, unmap, committed, ...map, committed, mremap, committed, unmap, committed];
  const perBatch = Math.max(1, Math.floor(protocol().maxOps / cycle.length) - 1);
  for (let done = 0; done < repeat; done += perBatch) {
    const ops: LabOp[] = [committed];
    for (let k = done; k < Math.min(repeat, done + perBatch); k++) ops.push(...cycle);
    const r = reads(run(ops));
    for (let k = 0; k + 4 < r.length; k += 4) {
      const [start, controlEnd, mapped, called, end] = r.slice(k, k + 5) as [
        number,
        number,
        number,
        number,
        number,
      ];
      const control = controlEnd - start;
      const test = end - controlEnd;
      controlDeltaKb += control;
      testDeltaKb += test;
      drifts.push((test - control) / pageKb);
      steps[0].push(mapped - controlEnd);
      steps[1].push(called - controlEnd);
      steps[2].push(end - controlEnd);
    }
  }
  const [mapped, called, unmapped] = steps.map(median) as [number, number, number];
  return {
    iterations: drifts.length,
    controlDeltaKb,
    testDeltaKb,
    driftPagesPerCycle: Math.round(median(drifts) * 100) / 100,
    oneCycleKb: { mapped, called, unmapped },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
