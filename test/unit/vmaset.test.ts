// The VMA model: mapping, merging as vma_merge() does for the layouts the
// scenarios make (docs/merges.md), splitting, unmapping with the munmap rule,
// and the counters the kernel keeps (map_count, total_vm, data_vm, locked_vm,
// the VM_ACCOUNT charge).
import { describe, expect, it } from 'vitest';
import { ERA_MERGES } from '../../lib/model/eras/index.js';
import { eraOfVersion } from '../../lib/model/types.js';
import { permsOf, VmaSet, type ModelVma } from '../../lib/model/vmas.js';

const anon = (start: number, end: number, o: Partial<ModelVma> = {}): Omit<ModelVma, 'anon'> => ({
  start,
  end,
  read: true,
  write: true,
  exec: false,
  shared: false,
  backing: { kind: 'anon' },
  pgoff: start,
  locked: false,
  account: true,
  label: 'x',
  ...o,
});

const shape = (s: VmaSet) => s.vmas.map((v) => `[${v.start},${v.end})${permsOf(v)}`).join(' ');

describe('VmaSet', () => {
  it('maps a VMA: one more map count, total_vm, data_vm and the charge', () => {
    const s = new VmaSet(10, 100, 50, 0);
    s.map(anon(0, 4));
    expect([s.mapCount, s.totalVm, s.dataVm, s.committed]).toEqual([11, 104, 54, 4]);
    expect(() => s.map(anon(2, 6))).toThrow(/map over a mapped range/);
  });

  it('merges an adjacent compatible anonymous VMA at mmap, but not one of another protection', () => {
    const s = new VmaSet(0, 0, 0, 0);
    s.map(anon(0, 2));
    s.map(anon(2, 4));
    expect(shape(s)).toBe('[0,4)rw-p');
    expect(s.mapCount).toBe(1);
    s.map(anon(4, 6, { write: false }));
    expect(shape(s)).toBe('[0,4)rw-p [4,6)r--p');
    expect(s.mapCount).toBe(2);
  });

  it('keeps VMAs with different anon_vmas apart, merges one that was never faulted', () => {
    const s = new VmaSet(0, 0, 0, 0);
    s.map(anon(0, 2));
    s.write(0, { kind: 'stamp', object: 1, page: 0 });
    s.map(anon(4, 6));
    s.write(4, { kind: 'stamp', object: 2, page: 0 });
    // Both faulted with their own anon_vma: a VMA between them merges with neither side's other.
    const a = s.vmas[0]!.anon;
    const b = s.vmas[1]!.anon;
    expect(a).not.toBe(b);
    s.map(anon(2, 4));
    // The new, unfaulted VMA merges with the one before it; the result cannot take the next.
    expect(shape(s)).toBe('[0,4)rw-p [4,6)rw-p');
  });

  it('shared VMAs merge only with the same object at the following offset', () => {
    const s = new VmaSet(0, 0, 0, 0);
    s.addObject(1, 8);
    s.addObject(2, 8);
    const file = (start: number, end: number, object: number, pgoff: number) =>
      anon(start, end, { shared: true, backing: { kind: 'memfd', object }, pgoff, account: false });
    s.map(file(0, 2, 1, 0));
    s.map(file(2, 4, 1, 2));
    expect(shape(s)).toBe('[0,4)rw-s');
    s.map(file(4, 6, 2, 4));
    s.map(file(6, 8, 1, 5));
    expect(shape(s)).toBe('[0,4)rw-s [4,6)rw-s [6,8)rw-s');
  });

  it('mprotect splits at the ends and merges back when the protection comes back', () => {
    const s = new VmaSet(0, 0, 0, 0);
    s.map(anon(0, 3));
    s.protect(1, 2, true, false);
    expect(shape(s)).toBe('[0,1)rw-p [1,2)r--p [2,3)rw-p');
    expect([s.mapCount, s.dataVm]).toEqual([3, 2]);
    s.protect(1, 2, true, true);
    expect(shape(s)).toBe('[0,3)rw-p');
    expect([s.mapCount, s.dataVm]).toEqual([1, 3]);
  });

  it('mlock counts locked_vm and keeps locked and unlocked pieces apart', () => {
    const s = new VmaSet(0, 0, 0, 0);
    s.map(anon(0, 4));
    s.lock(2, 4);
    expect(shape(s)).toBe('[0,2)rw-p [2,4)rw-p');
    expect(s.lockedVm).toBe(2);
  });

  it('munmap: removes and uncharges; the munmap rule refuses only a cut strictly inside one VMA at M', () => {
    const M = 100;
    const s = new VmaSet(M - 1, 10, 10, 0);
    s.map(anon(0, 4)); // map count M
    const inside = s.munmap(1, 2, M);
    expect(inside).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(s.mapCount).toBe(M);
    const tail = s.munmap(3, 4, M);
    expect(tail).toMatchObject({ ok: true, removedPages: 1 });
    expect([s.mapCount, s.committed]).toEqual([M, 3]);
    expect(s.munmap(10, 12, M)).toMatchObject({ ok: true, removedPages: 0 });
  });

  it('copyAndMove: the contents go with the page tables, and the copy merges at the destination', () => {
    const s = new VmaSet(0, 0, 0, 0);
    s.map(anon(0, 2));
    s.map(anon(10, 12, { write: false }));
    s.write(0, { kind: 'stamp', object: 1, page: 0 });
    s.write(1, { kind: 'stamp', object: 1, page: 1 });
    const src = s.vmas[0]!;
    const copy = s.copyAndMove(src, 0, 20, 2);
    expect([copy.start, copy.end]).toEqual([20, 22]);
    expect(s.read(20)).toEqual({ kind: 'stamp', object: 1, page: 0 });
    expect(s.read(0)).toEqual({ kind: 'zero' });
  });

  it('expand grows in place and merges with a compatible next VMA', () => {
    const s = new VmaSet(0, 0, 0, 0);
    const v = s.map(anon(0, 2));
    s.map(anon(4, 6, { write: false }));
    s.expand(v, 4);
    expect(shape(s)).toBe('[0,4)rw-p [4,6)r--p');
    expect(s.totalVm).toBe(6);
  });

  it('reads shared pages past the object as unreadable (SIGBUS)', () => {
    const s = new VmaSet(0, 0, 0, 0);
    s.addObject(1, 2);
    s.map(
      anon(0, 4, { shared: true, backing: { kind: 'memfd', object: 1 }, pgoff: 0, account: false }),
    );
    expect(s.read(1)).toEqual({ kind: 'zero' });
    expect(s.read(2)).toEqual({ kind: 'unreadable' });
    expect(s.read(9)).toEqual({ kind: 'unmapped' });
  });
});

describe('merges by era (docs/merges.md#layout-x-era)', () => {
  const policy = (v: [number, number]) =>
    ERA_MERGES[eraOfVersion([v[0], v[1], 0])]([v[0], v[1], 0] as [number, number, number]);
  const at = (v: [number, number]) => {
    const s = new VmaSet(0, 0, 0, 0);
    s.policy = policy(v);
    return s;
  };

  it.each([
    [[5, 10], 2],
    [[6, 0], 2],
    [[6, 1], 1],
    [[6, 18], 1],
  ] as const)('grow in place up to a compatible next VMA on %j: %i VMA(s)', (v, n) => {
    const s = at(v as [number, number]);
    const a = s.map(anon(0, 2));
    s.map(anon(4, 6));
    s.expand(a, 4);
    expect(s.vmas).toHaveLength(n);
  });

  it.each([
    [[6, 15], 2],
    [[6, 16], 1],
  ] as const)('a faulted range made like its unfaulted neighbour on %j: %i VMA(s)', (v, n) => {
    const s = at(v as [number, number]);
    s.map(anon(0, 2, { write: false, account: false }));
    s.map(anon(2, 4));
    s.write(2, { kind: 'stamp', object: 1, page: 0 });
    s.protect(2, 4, true, false);
    // Both read-only now; the left one never faulted and was never accounted.
    s.vmas[1]!.account = false;
    s.mergeAround(s.vmas[1]!);
    expect(s.vmas).toHaveLength(n);
  });

  it.each([[[4, 19]], [[6, 1]], [[6, 18]]] as const)(
    "the runner's two adjacent read-only pieces become one VMA on %j (first-fault reuse)",
    (v) => {
      const s = at(v as [number, number]);
      s.map(anon(0, 2));
      s.write(0, { kind: 'stamp', object: 1, page: 0 });
      s.protect(0, 2, true, false);
      s.map(anon(2, 4));
      s.write(2, { kind: 'stamp', object: 2, page: 0 });
      s.protect(2, 4, true, false);
      expect(shape(s)).toBe('[0,4)r--p');
    },
  );

  it.each([
    [[5, 15], 'prev'],
    [[6, 1], 'next'],
    [[6, 11], 'next'],
    [[6, 12], 'prev'],
  ] as const)(
    'a new VMA between two faulted VMAs of different anon_vmas on %j joins %s',
    (v, side) => {
      const s = at(v as [number, number]);
      s.map(anon(0, 2));
      s.write(0, { kind: 'stamp', object: 1, page: 0 });
      s.map(anon(4, 6, { pgoff: 4 }));
      s.write(4, { kind: 'stamp', object: 2, page: 0 });
      expect(s.vmas[0]!.anon).not.toBe(s.vmas[1]!.anon);
      s.map(anon(2, 4));
      expect(shape(s)).toBe(side === 'prev' ? '[0,4)rw-p [4,6)rw-p' : '[0,2)rw-p [2,6)rw-p');
    },
  );

  it('reads a PROT_NONE page as the lab can: its stamp, or unreadable where /proc/self/mem may not force it', () => {
    for (const readable of [true, false]) {
      const s = new VmaSet(0, 0, 0, 0);
      s.protNoneReadable = readable;
      s.map(anon(0, 2));
      s.write(0, { kind: 'stamp', object: 1, page: 0 });
      s.write(1, { kind: 'stamp', object: 1, page: 1 });
      s.protect(1, 2, false, false);
      expect(s.read(0)).toEqual({ kind: 'stamp', object: 1, page: 0 });
      expect(s.read(1)).toEqual(
        readable ? { kind: 'stamp', object: 1, page: 1 } : { kind: 'unreadable' },
      );
      expect(s.clone().read(1)).toEqual(s.read(1));
    }
  });
});
