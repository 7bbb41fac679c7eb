// Placement: from a scenario's data to pages, the call's bits, the layout
// steps in the lab's order, and the spans read back.
import { describe, expect, it } from 'vitest';
import { MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_READ } from '../../lib/bits.js';
import { labelAt, MAX_EVIDENCE, place } from '../../lib/placement.js';
import { catalogue } from '../../lib/scenarios/index.js';
import { moveCase } from '../../lib/scenarios/geometry.js';

const facts = { pageSize: 4096, beyondCommit: 1 << 22 };
const W = 1000;

describe('place', () => {
  it('puts the call in page numbers from the window, with the flags as bits', () => {
    const s = moveCase({
      family: 'x',
      dst: 'multi',
      old: 'whole',
      size: 'same',
      flags: ['MAYMOVE', 'FIXED', 'DONTUNMAP'],
      summary: '',
    });
    const p = place(s, facts, W);
    expect(p.call).toEqual({
      old: W + 32,
      oldLen: 2,
      newLen: 2,
      flags: MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
      newAddr: W + 8,
    });
    expect(p.ranges).toEqual([[W, W + 48]]);
    expect(p.evidence).toEqual([[W, 48]]);
    expect(labelAt(p, W + 9)).toBe('dst-b');
    expect(labelAt(p, W + 20)).toBe('free');
  });

  it('lays each piece out as the lab makes it: map read-write, stamp, lock, protect', () => {
    const s = moveCase({
      family: 'x',
      dst: 'multi',
      old: 'whole',
      size: 'grow',
      lockOld: true,
      summary: '',
    });
    const p = place(s, facts, W);
    expect(p.layout.map((x) => `${x.kind}:${x.piece}`)).toEqual([
      'mmap:0',
      'stamp:0',
      'mmap:1',
      'stamp:1',
      'mprotect:1',
      'mmap:2',
      'stamp:2',
      'mlock:2',
    ]);
    expect(p.layout[4]).toMatchObject({ kind: 'mprotect', prot: PROT_READ });
    expect(p.pieces.map((x) => x.object)).toEqual([1, 2, 3]);
  });

  it('makes memfds first, sized by the file', () => {
    const s = moveCase({
      family: 'x',
      dst: 'whole',
      old: 'whole',
      size: 'same',
      backing: 'memfd',
      summary: '',
    });
    const p = place(s, facts, W);
    expect(p.layout[0]).toEqual({ kind: 'memfd', piece: 1, pages: 16 });
  });

  it('a new address of 0 adds the range [0, new_len) to what is read back', () => {
    const s = catalogue().find((x) => x.call.newAddr === 'zero')!;
    const p = place(s, facts, W);
    expect(p.call.newAddr).toBe(0);
    expect(p.ranges.at(-1)).toEqual([0, p.newPages]);
    expect(p.evidence.at(-1)![0]).toBe(0);
  });

  it('a window beyond the overcommit limit is read back in spans, not whole', () => {
    const s = catalogue().find((x) => x.call.newPages === 'beyond-commit')!;
    const p = place(s, facts, W);
    expect(p.newPages).toBe(facts.beyondCommit);
    expect(p.windowPages).toBeGreaterThan(MAX_EVIDENCE);
    expect(p.evidence.every(([, n]) => n <= 64)).toBe(true);
    expect(p.evidence.some(([a]) => a === p.call.newAddr + p.newPages - 16)).toBe(true);
  });
});
