// The TypeScript API as the README shows it, through the package's entry point.
import { describe, expect, it } from 'vitest';
import { catalogue, explainCase, PressureLab, readMaxMapCount } from '../../lib/index.js';
import { isLinux } from '../helpers.js';

describe.skipIf(!isLinux)('the lab API from the README', () => {
  it('lays out a region, reaches a target, makes a call, reads the evidence back', () => {
    const M = readMaxMapCount();
    const pl = PressureLab.open(M);
    try {
      const lab = pl.lab;
      const P = BigInt(lab.pageSize);
      const w = pl.arena.regionBase;
      const made = lab.mmap(w, 3n * P, 3, 0x22 | 0x100000);
      expect(made).toEqual({ ok: true, value: w });
      expect(lab.stamp(w, 3, 1, 0, 0x1234n).ok).toBe(true);
      // The tracker follows what a query of the experiment region reports.
      pl.observeRegion(lab.query(w, w + 64n * P).vmas.length);
      expect(pl.reach(M - 5, { verify: true })).toMatchObject({ mapCount: M - 5, verified: true });
      // The middle page to free space 16 pages on: (a) has nothing to unmap, the
      // old VMA splits in three, the moved page is a fourth VMA: the early check
      // of 5.1+ refuses it at M-5.
      const r = lab.mremap(w + P, P, P, 3, w + 16n * P);
      const era = explainCase(catalogue()[0]!, '6.17-7.0', { maxMapCount: M });
      expect(era.prediction.trace.length).toBeGreaterThan(0);
      const vmas = lab.query(w, w + 64n * P).vmas;
      const pages = lab.check(w, 3, 0x1234n);
      if (r.ok) {
        expect(vmas.length).toBe(3);
        expect(pages[1]).toEqual({ kind: 'unmapped' });
      } else {
        expect(r.code).toBe('ENOMEM');
        expect(vmas).toHaveLength(1);
        expect(pages).toEqual([0, 1, 2].map((page) => ({ kind: 'stamp', object: 1, page })));
      }
    } finally {
      pl.close();
    }
  });
});
