// The model's predictions for every era over the whole catalogue, against a
// table written from the era rules of KERNEL-FACTS.md (where each check sits
// relative to (a) and (b)), not from any machine's outcomes.
import { describe, expect, it } from 'vitest';
import { explainCase } from '../../lib/explain.js';
import { cycleDriftPages } from '../../lib/judge/accounting.js';
import { ERAS, type EraId } from '../../lib/model/types.js';
import { catalogue } from '../../lib/scenarios/index.js';
import type { Scenario } from '../../lib/scenarios/types.js';

const M = 65530;

interface Exp {
  /** 'ok' or the errno. */
  ret: string;
  /** The error return comes after (a)/(b) destroyed something. */
  destroyed?: boolean;
  /** map_count after minus before, on success. */
  delta?: number;
}

const ok = (delta: number): Exp => ({ ret: 'ok', delta });
const err = (errno: string, destroyed = false): Exp => ({ ret: errno, destroyed });
const idx = (e: EraId) => ERAS.indexOf(e);
const before617 = (e: EraId) => idx(e) < idx('6.17-7.0');
const before516 = (e: EraId) => idx(e) < idx('5.16-6.14');

/** The early check of ea2c3f6f5545 (5.1-7.0: c >= M-5, MREMAP_FIXED/DONTUNMAP only), or 7.1's (c >= M-3, every call). */
function early(e: EraId, c: number, moving = true): boolean {
  if (e === 'pre-5.1') return false;
  if (e === '7.1+') return c >= M - 3;
  return moving && c >= M - 5;
}

function expected(s: Scenario, e: EraId): Exp {
  const c = s.pressure === null ? 1000 : M + s.pressure;
  const [family, ...rest] = s.id.split('@')[0]!.split('/');
  const shape = rest.join('/');
  const b = rest[1];
  const dontunmap = family!.startsWith('dontunmap');
  if (dontunmap && e === 'pre-5.1') return err('EINVAL'); // the flag came in 5.7
  const moving = s.call.flags.includes('FIXED') || s.call.flags.includes('DONTUNMAP');
  if (early(e, c, moving)) {
    // In 5.16-6.14 the old-VMA lookup comes before the early check.
    if (e === '5.16-6.14' && b === 'old-none') return err('EFAULT');
    if (family !== 'overlap' || e === '6.15-6.16') return err('ENOMEM');
  }
  switch (family) {
    case 'fixed':
    case 'fixed-shmem':
    case 'fixed-memfd':
      switch (shape) {
        case 'dst-mid/old-mid/shrink':
          if (e === 'pre-5.1') {
            if (c >= M) return err('ENOMEM'); // (a) refuses: strictly inside a VMA at c >= M
            if (c === M - 1) return err('ENOMEM', true); // (a) done, (b) refuses
            if (c >= M - 5) return err('ENOMEM', true); // move_vma: c + 2 >= M - 3
          }
          return ok(3);
        case 'dst-mid/old-mid/same':
        case 'dst-mid/old-mid/grow':
          return ok(3); // pre-5.1: after (a) c + 1 < M - 3 at M-5
        case 'dst-whole/old-whole/shrink':
        case 'dst-whole/old-whole/same':
        case 'dst-whole/old-whole/grow':
          return ok(-1);
        case 'dst-unmapped/old-whole/same':
        case 'dst-unmapped/old-whole/grow':
          return ok(0);
        case 'dst-multi/old-whole/same':
          return ok(-2);
        case 'dst-whole/old-none/same':
        case 'dst-whole/old-none/shrink':
          return err('EFAULT', before516(e));
        case 'dst-whole/old-next/same':
          return before617(e) ? err('EFAULT', true) : ok(-1);
        case 'dst-whole/old-next/grow':
        case 'dst-whole/old-hole/grow':
          return err('EFAULT', before617(e));
        case 'dst-whole/old-next/shrink':
          return ok(-2); // (b) unmaps the next VMA
        case 'dst-whole/old-hole/same':
          return before617(e) ? err('EFAULT', true) : ok(0);
      }
      break;
    case 'dontunmap':
      switch (shape) {
        case 'dst-whole/old-whole/same':
          return ok(0);
        case 'dst-unmapped/old-whole/same+as-tight':
          return err('ENOMEM');
        case 'dst-sparse/old-whole/same+as-tight':
          return err('ENOMEM', true); // may_expand_vm(old_len) after (a), every era
        case 'dst-whole/old-next/same':
          // 6.17+: both VMAs moved, both old VMAs kept: +1.
          return before617(e) ? err('EFAULT', true) : ok(1);
      }
      break;
    case 'dontunmap-shmem':
    case 'dontunmap-memfd':
      return ok(0); // 5.13+ features: allowed
    case 'limits-as':
      if (shape === 'dst-whole/old-whole/grow+as-tight')
        return before617(e) ? ok(-1) : err('ENOMEM');
      if (shape === 'dst-sparse/old-whole/grow+as-tight') return err('ENOMEM', before617(e));
      return err('ENOMEM');
    case 'limits-memlock':
      return err('EAGAIN', before617(e));
    case 'limits-commit':
      return err('ENOMEM', true);
    case 'lowaddr':
      return shape === 'dst-zero/old-mid/shrink' ? err('EPERM', true) : err('EPERM');
    case 'overlap':
      return err('EINVAL');
    case 'invariant':
      if (rest[0] === 'in-place') return early(e, c, false) ? err('ENOMEM') : ok(0);
      if (rest[1] === 'dontunmap' && e === 'pre-5.1') return err('EINVAL');
      // A whole VMA moved to free space: +1 -1; DONTUNMAP keeps the old one: +1.
      return ok(rest[1] === 'dontunmap' ? 1 : 0);
    case 'inplace':
      if (shape.startsWith('old-blocked')) return err('ENOMEM');
      if (shape === 'old-mid/shrink') return c >= M ? err('ENOMEM') : ok(1);
      return ok(0);
  }
  throw new Error(`no rule for ${s.id}`);
}

describe('era models over the catalogue', () => {
  const cases = catalogue().flatMap((s) => ERAS.map((e) => [s.id, e, s] as const));
  it.each(cases)('%s under %s', (_id, era, s) => {
    const want = expected(s, era);
    const got = explainCase(s, era, { maxMapCount: M });
    const r = got.prediction.ret;
    expect(r.ok ? 'ok' : r.errno).toBe(want.ret);
    if (!r.ok) expect(got.destroyed.length > 0).toBe(want.destroyed === true);
    if (r.ok && want.delta !== undefined) {
      expect(got.prediction.state.mapCount - got.start.mapCount).toBe(want.delta);
    }
  });

  // The charge of a shrinking MREMAP_FIXED move: new_len - old_len after (b)
  // cut old_len (nothing) up to 6.14; vrm->delta, taken before (b), from the
  // 6.15 refactor: the pages (b) uncharged are charged again and never given back.
  it.each(ERAS.map((e) => [e] as const))(
    'Committed_AS drift per accounting cycle under %s',
    (era) => {
      const drift = (id: string) => {
        const s = catalogue().find((x) => x.id === id)!;
        const x = explainCase(s, era, { maxMapCount: M });
        return cycleDriftPages(x.prediction, x.placement);
      };
      const leaks = idx(era) >= idx('6.15-6.16');
      expect(drift('invariant/accounting/fixed-shrink@none')).toBe(leaks ? 32 : 0);
      for (const id of [
        'fixed-same',
        'fixed-grow',
        'dontunmap',
        'inplace-shrink',
        'inplace-grow',
      ]) {
        expect(drift(`invariant/accounting/${id}@none`)).toBe(0);
      }
    },
  );
});

describe('features within an era follow the version', () => {
  it.each([
    [5, 7],
    [5, 10],
    [5, 11],
    [5, 14],
    [5, 15],
  ] as const)('a DONTUNMAP accounting cycle keeps its accounts on %i.%i', (maj, min) => {
    const s = catalogue().find((x) => x.id === 'invariant/accounting/dontunmap@none')!;
    const x = explainCase(s, '5.1-5.15', { maxMapCount: M, version: [maj, min, 0] });
    expect(cycleDriftPages(x.prediction, x.placement)).toBe(0);
  });

  const find = (id: string) => catalogue().find((s) => s.id === id)!;

  it('DONTUNMAP of shmem: EINVAL after (a) on 5.10, allowed on 5.15', () => {
    const s = find('dontunmap-shmem/dst-whole/old-whole/same@none');
    const on510 = explainCase(s, '5.1-5.15', { maxMapCount: M, version: [5, 10, 0] });
    expect(on510.prediction.ret).toEqual({ ok: false, errno: 'EINVAL' });
    expect(on510.destroyed.map((d) => d.pieces)).toEqual([['dst']]);
    expect(
      explainCase(s, '5.1-5.15', { maxMapCount: M, version: [5, 15, 0] }).prediction.ret.ok,
    ).toBe(true);
  });

  it('5.16 and 5.17 return +14 for a missing old VMA; 5.18 returns -EFAULT', () => {
    const s = find('fixed/dst-whole/old-none/same@none');
    expect(
      explainCase(s, '5.16-6.14', { maxMapCount: M, version: [5, 16, 0] }).prediction.ret,
    ).toEqual({ ok: true, raw: 14 });
    expect(
      explainCase(s, '5.16-6.14', { maxMapCount: M, version: [5, 18, 0] }).prediction.ret,
    ).toEqual({ ok: false, errno: 'EFAULT' });
  });

  it('explains the seed bug step by step: (a) and (b) before the ENOMEM in pre-5.1', () => {
    const s = find('fixed/dst-mid/old-mid/shrink@M-4');
    const { text, prediction } = explainCase(s, 'pre-5.1', { maxMapCount: M });
    const fns = prediction.trace.map((t) => t.fn);
    const a = fns.findIndex((f) => f.includes('(a) do_munmap'));
    const b = fns.findIndex((f) => f.includes('(b) do_munmap'));
    const fail = prediction.trace.findIndex((t) => t.errno === 'ENOMEM');
    expect(a).toBeGreaterThan(-1);
    expect(b).toBeGreaterThan(a);
    expect(fail).toBeGreaterThan(b);
    expect(prediction.trace[fail]!.fn).toBe('move_vma()');
    expect(text).toMatch(
      /result: ENOMEM after mappings were destroyed: \[\+8, \+9\) of dst unmapped, \[\+33, \+34\) of old unmapped/,
    );
  });
});
