// The page arithmetic at 4, 16 and 64 KiB pages (arm64 kernels run with any
// of them): a case's bytes, the grow beyond RAM + swap, TASK_SIZE and the
// model's check against it, and the user address space read from real maps
// (test/fixtures/arm64-*-6.12.maps: `mremap-probe maps --json` in Debian's
// 6.12 cloud-arm64 and arm64-16k kernels under qemu-system-aarch64 -cpu max,
// written back as maps lines).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { explainCase } from '../../lib/explain.js';
import { beyondCommitPages, type MachineFacts } from '../../lib/facts.js';
import { modelEnv } from '../../lib/judge/eras.js';
import { mappedAddressBits, taskSizeBytes } from '../../lib/kernel.js';
import { mapCount, parseMaps } from '../../lib/maps.js';
import { predict } from '../../lib/model/predict.js';
import { ERAS } from '../../lib/model/types.js';
import { addressOf, place } from '../../lib/placement.js';
import { findScenario } from '../../lib/scenarios/index.js';
import { moveCase } from '../../lib/scenarios/geometry.js';
import type { Scenario } from '../../lib/scenarios/types.js';

const GiB = 2 ** 30;
const PAGE_SIZES = [4096, 16384, 65536];

function facts(P: number, taskSizePages: number): MachineFacts {
  const totalPages = (24 * GiB) / P;
  return {
    pageSize: P,
    maxMapCount: 65530,
    version: [6, 12, 0],
    mmapMinAddr: 65536,
    overcommit: { mode: 0, totalPages, commitLimit: totalPages, committed: totalPages / 4 },
    capEff: 0n,
    beyondCommit: beyondCommitPages(totalPages, P),
    taskSizePages,
    protNoneReadable: true,
  };
}

const inputs = {
  totalVm: 1000,
  dataVm: 500,
  lockedVm: 0,
  rlimitAs: Infinity,
  rlimitData: Infinity,
  rlimitMemlock: 2048,
  capIpcLock: true,
  capSysRawio: true,
};

describe.each(PAGE_SIZES)('at %i-byte pages', (P) => {
  it("places a case's call in bytes: its pages times the page size", () => {
    const s = findScenario('fixed/dst-mid/old-mid/shrink@M-4')!;
    const W = 0x1000;
    const p = place(s, { pageSize: P, beyondCommit: 1 << 20 }, W);
    expect(p.pageSize).toBe(P);
    expect(p.args.old).toBe(BigInt(p.call.old) * BigInt(P));
    expect(p.args.oldLength).toBe(BigInt(p.call.oldLen * P));
    expect(p.args.newLength).toBe(BigInt(p.call.newLen * P));
    expect(p.args.newAddr).toBe(addressOf(p, p.call.newAddr));
    // The pages are the same at every size: only the bytes scale.
    const at4k = place(s, { pageSize: 4096, beyondCommit: 1 << 20 }, W);
    expect(p.call).toEqual(at4k.call);
    expect(p.args.old).toBe((at4k.args.old * BigInt(P)) / 4096n);
  });

  it('keeps a length a few bytes short of whole pages short by those bytes', () => {
    const base = findScenario('fixed/dst-mid/old-mid/shrink@M-4')!;
    const s: Scenario = { ...base, call: { ...base.call, oldShort: 100, newMisalign: 8 } };
    const p = place(s, { pageSize: P, beyondCommit: 1 << 20 }, 0x1000);
    expect(p.args.oldLength).toBe(BigInt(p.call.oldLen * P - 100));
    expect(p.args.newAddr).toBe(BigInt(p.call.newAddr) * BigInt(P) + 8n);
  });

  it('grows beyond RAM + swap by the same bytes at every page size', () => {
    const f = facts(P, 2 ** 35);
    // 24 GiB of RAM + swap: a quarter more, rounded up to whole GiB, plus one GiB.
    expect(f.beyondCommit * P).toBe(31 * GiB);
    expect(f.beyondCommit).toBeGreaterThan(f.overcommit.totalPages);
    const s = findScenario('limits-commit/dst-sparse/old-whole/grow+beyond-commit@none')!;
    const p = place(s, f, 0x1000);
    expect(p.call.newLen).toBe(f.beyondCommit);
    expect(p.args.newLength).toBe(BigInt(31 * GiB));
  });

  it('takes TASK_SIZE in pages: x86-64 stops a page short of 2^47, arm64 at 2^vabits', () => {
    expect(taskSizeBytes('x86_64', 47, P) / P).toBe(2 ** 47 / P - 1);
    for (const bits of [39, 42, 47, 48, 52]) {
      expect(taskSizeBytes('aarch64', bits, P) / P).toBe(2 ** bits / P);
      expect(Number.isInteger(taskSizeBytes('aarch64', bits, P) / P)).toBe(true);
    }
  });

  // A move whose destination ends exactly at TASK_SIZE passes the check every
  // era makes (mremap_to() or check_mremap_params(): new_addr > TASK_SIZE -
  // new_len is EINVAL); one page higher it does not.
  const ends = [
    { arch: 'x86_64', bits: 47 },
    { arch: 'aarch64', bits: 39 },
    { arch: 'aarch64', bits: 48 },
    { arch: 'aarch64', bits: 52 },
  ];
  it.each(ends)("checks the destination against $arch's TASK_SIZE with $bits bits", (e) => {
    const T = taskSizeBytes(e.arch, e.bits, P) / P;
    const f = facts(P, T);
    // The destination is the highest thing in the window: nothing lies beyond TASK_SIZE.
    const base = moveCase({
      family: 'x',
      dst: 'unmapped',
      old: 'whole',
      size: 'same',
      summary: '',
    });
    const s: Scenario = { ...base, call: { ...base.call, newAddr: 40 } };
    const end = 40 + place(s, f, 0).call.newLen;
    for (const era of ERAS) {
      const at = (W: number) => {
        const p = place(s, f, W);
        return predict(p, { mapCount: 500, totalVm: 1000, dataVm: 500, lockedVm: 0 }, era, {
          ...modelEnv(f, inputs, era),
          window: p.window,
          picked: p.picked,
        }).ret;
      };
      expect(at(T - end), era).toMatchObject({ ok: true });
      expect(at(T - end + 1), era).toMatchObject({ ok: false, errno: 'EINVAL' });
    }
  });

  it('explains in pages of this size, below a small TASK_SIZE too', () => {
    const s = findScenario('fixed/dst-mid/old-mid/shrink@M-4')!;
    for (const taskSizePages of [2 ** 47 / P - 1, 2 ** 39 / P]) {
      const e = explainCase(s, '5.16-6.14', { pageSize: P, taskSizePages });
      expect(e.placement.pageSize).toBe(P);
      expect(e.placement.window + e.placement.windowPages).toBeLessThan(taskSizePages);
      expect(e.prediction.ret).toMatchObject({ ok: false, errno: 'ENOMEM' });
    }
  });
});

describe('the user address space, from the highest mapping', () => {
  // Each capture with its architecture's gate VMA, whatever this machine's is.
  const read = (f: string, gate: string | null) => {
    const entries = parseMaps(readFileSync(`test/fixtures/${f}`, 'utf8'));
    return { entries, gateVma: mapCount(entries, gate) !== entries.length };
  };

  it('x86-64: 47 bits, the [vsyscall] gate VMA above them left out', () => {
    const m = read('node20.maps', '[vsyscall]');
    expect(m.gateVma).toBe(true);
    expect(mappedAddressBits(m)).toBe(47);
  });

  it("arm64 4 KiB pages: 48 bits, the default window of Debian's 52-bit kernel", () => {
    expect(mappedAddressBits(read('arm64-4k-6.12.maps', null))).toBe(48);
  });

  it("arm64 16 KiB pages: 47 bits, the 16K granule's smallest window", () => {
    expect(mappedAddressBits(read('arm64-16k-6.12.maps', null))).toBe(47);
  });
});
