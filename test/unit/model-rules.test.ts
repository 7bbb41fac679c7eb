// The era models held against the era rules of docs/kernel/eras.md: for each
// check, a layout that trips that check alone, and where each era puts it
// relative to (a) (the destination unmapped) and (b) (the old tail unmapped).
// The table below is the summary table of eras.md; the layouts are built from
// the scenario builders, not looked up by id.
import { describe, expect, it } from 'vitest';
import { explainCase } from '../../lib/explain.js';
import { cycleDriftPages } from '../../lib/judge/accounting.js';
import { lockedDriftPages } from '../../lib/judge/locked-vm.js';
import { ERAS, type EraId } from '../../lib/model/types.js';
import { catalogue } from '../../lib/scenarios/index.js';
import { moveCase, type MoveOptions } from '../../lib/scenarios/geometry.js';
import type { Scenario } from '../../lib/scenarios/types.js';

const M = 65530;

/**
 * What an era does with a case: `before` fails with the errno and touches
 * nothing; `after` fails with it after (a) or (b) destroyed mappings; `ok`
 * succeeds.
 */
type Outcome = 'ok' | `${string} before` | `${string} after`;
type PerEra = Record<EraId, Outcome>;

function eras(o: Outcome[]): PerEra {
  return Object.fromEntries(ERAS.map((e, i) => [e, o[i]!])) as PerEra;
}

const move = (o: Partial<MoveOptions>): Scenario =>
  moveCase({ family: 'rule', dst: 'whole', old: 'whole', size: 'same', summary: '', ...o });

interface Rule {
  /** The check, as docs/kernel/checks.md names it. */
  check: string;
  scenario: Scenario;
  want: PerEra;
}

const RULES: Rule[] = [
  {
    check: 'early-map-count-check: refuses at M-5 from 5.1 to 7.0, before (a)',
    scenario: move({ dst: 'unmapped', pressure: -5 }),
    // pre-5.1 has no early check, and (a) frees nothing: move_vma() passes at c = M-5.
    want: eras(['ok', 'ENOMEM before', 'ENOMEM before', 'ENOMEM before', 'ENOMEM before', 'ok']),
  },
  {
    check: 'locked-map-count-check: 7.1 refuses every call at M-3',
    scenario: move({ dst: 'unmapped', pressure: -3 }),
    // pre-5.1: move_vma()'s own check, c >= M-3, with nothing unmapped before it.
    want: eras([
      'ENOMEM before',
      'ENOMEM before',
      'ENOMEM before',
      'ENOMEM before',
      'ENOMEM before',
      'ENOMEM before',
    ]),
  },
  {
    check: 'move-vma-map-count: reachable after (a) and (b) before 5.1 (the seed)',
    scenario: move({ dst: 'mid', old: 'mid', size: 'shrink', pressure: -4 }),
    // 7.1: M-4 passes the every-call check (c + 4 > M), and after (a) and (b)
    // split two VMAs the move-time check (c + 2 > M) still passes.
    want: eras([
      'ENOMEM after',
      'ENOMEM before',
      'ENOMEM before',
      'ENOMEM before',
      'ENOMEM before',
      'ok',
    ]),
  },
  {
    check: 'old-vma-lookup: after (a) and (b) before 5.16, before them since',
    scenario: move({ old: 'none' }),
    want: eras([
      'EFAULT after',
      'EFAULT after',
      'EFAULT before',
      'EFAULT before',
      'EFAULT before',
      'EFAULT before',
    ]),
  },
  {
    check: 'old-range-crossing: a grow over a VMA end fails after (a) before 6.17, before since',
    scenario: move({ old: 'next', size: 'grow' }),
    want: eras([
      'EFAULT after',
      'EFAULT after',
      'EFAULT after',
      'EFAULT after',
      'EFAULT before',
      'EFAULT before',
    ]),
  },
  {
    check:
      'multi-vma-move: a same-size move over two VMAs fails after (a) before 6.17, moves since',
    scenario: move({ old: 'next' }),
    want: eras(['EFAULT after', 'EFAULT after', 'EFAULT after', 'EFAULT after', 'ok', 'ok']),
  },
  {
    check:
      'multi-vma-move: a later VMA failing move_vma() map-count check after the first moved (6.17+)',
    scenario: catalogue().find((x) => x.id === 'multi-vma/dst-mid/old-hole/same@M-6')!,
    // Before 6.17 the crossing EFAULT comes after (a) unmapped part of the destination;
    // 7.1 checks the count before anything and refuses every call at M-3 only, so it moves both.
    want: eras([
      'EFAULT after',
      'EFAULT after',
      'EFAULT after',
      'EFAULT after',
      'ENOMEM after',
      'ok',
    ]),
  },
  {
    check:
      "multi-vma-move at M-4: 7.1's per-VMA count check fails after the first VMA moved; from 5.1 to 7.0 the early check refuses it",
    scenario: catalogue().find((x) => x.id === 'multi-vma/dst-mid/old-hole/same@M-4')!,
    want: eras([
      'EFAULT after',
      'ENOMEM before',
      'ENOMEM before',
      'ENOMEM before',
      'ENOMEM before',
      'ENOMEM after',
    ]),
  },
  {
    check: 'rlimit-memlock: EAGAIN after (a) before 6.17, before since',
    scenario: move({
      size: 'grow',
      lockOld: true,
      extra: { limits: { memlock: { headroom: 1 } }, requires: { dropCaps: ['CAP_IPC_LOCK'] } },
    }),
    want: eras([
      'EAGAIN after',
      'EAGAIN after',
      'EAGAIN after',
      'EAGAIN after',
      'EAGAIN before',
      'EAGAIN before',
    ]),
  },
  {
    check: 'may-expand-vm: RLIMIT_AS after (a) before 6.17, before since',
    scenario: move({ dst: 'sparse', size: 'grow', extra: { limits: { as: { headroom: 0 } } } }),
    want: eras([
      'ENOMEM after',
      'ENOMEM after',
      'ENOMEM after',
      'ENOMEM after',
      'ENOMEM before',
      'ENOMEM before',
    ]),
  },
  {
    check: 'dontunmap-may-expand: after (a) in every era that has the flag',
    scenario: move({
      dst: 'sparse',
      flags: ['MAYMOVE', 'FIXED', 'DONTUNMAP'],
      extra: { limits: { as: { headroom: 0 } } },
    }),
    // pre-5.1 does not know the flag: EINVAL at the entry.
    want: eras([
      'EINVAL before',
      'ENOMEM after',
      'ENOMEM after',
      'ENOMEM after',
      'ENOMEM after',
      'ENOMEM after',
    ]),
  },
  {
    check: 'get-unmapped-area: below mmap_min_addr, EPERM after (b) in every era',
    scenario: {
      ...move({ old: 'mid', size: 'shrink', extra: { requires: { dropCaps: ['CAP_SYS_RAWIO'] } } }),
      layout: move({ old: 'mid', size: 'shrink' }).layout.filter((p) => p.label === 'old'),
      call: { old: 32, oldPages: 2, newPages: 1, flags: ['MAYMOVE', 'FIXED'], newAddr: 'zero' },
    },
    want: eras([
      'EPERM after',
      'EPERM after',
      'EPERM after',
      'EPERM after',
      'EPERM after',
      'EPERM after',
    ]),
  },
  {
    check: 'overlap: EINVAL, except that 6.15-6.16 answer the unlocked early ENOMEM first',
    scenario: {
      ...move({ dst: 'unmapped', pressure: -5 }),
      call: { old: 32, oldPages: 2, newPages: 2, flags: ['MAYMOVE', 'FIXED'], newAddr: 33 },
    },
    want: eras([
      'EINVAL before',
      'EINVAL before',
      'EINVAL before',
      'ENOMEM before',
      'EINVAL before',
      'EINVAL before',
    ]),
  },
];

function outcomeOf(s: Scenario, era: EraId): Outcome {
  const x = explainCase(s, era, { maxMapCount: M });
  const r = x.prediction.ret;
  if (r.ok) return 'ok';
  return `${r.errno} ${x.destroyed.length ? 'after' : 'before'}`;
}

describe('each check where its era puts it (docs/kernel/eras.md#summary)', () => {
  const cases = RULES.flatMap((r) => ERAS.map((era) => [r.check, era, r] as const));
  it.each(cases)('%s: %s', (_check, era, rule) => {
    expect(outcomeOf(rule.scenario, era)).toBe(rule.want[era]);
  });
});

describe('the map-count thresholds (docs/kernel/checks.md)', () => {
  // A move to free space of a whole VMA: (a) frees nothing and nothing splits,
  // so the first failing map count is the rule's own threshold.
  const first: Record<EraId, number> = {
    'pre-5.1': -3, // move_vma(): c >= M-3
    '5.1-5.15': -5, // ea2c3f6f5545: (c + 2) >= M - 3
    '5.16-6.14': -5,
    '6.15-6.16': -5,
    '6.17-7.0': -5,
    '7.1+': -3, // every call: c + 4 > M
  };
  it.each(ERAS.map((e) => [e] as const))('%s refuses from its threshold on, not below', (era) => {
    for (let k = -8; k <= 1; k++) {
      const o = outcomeOf(move({ dst: 'unmapped', pressure: k }), era);
      expect([k, o]).toEqual([k, k >= first[era] ? 'ENOMEM before' : 'ok']);
    }
  });

  it('the munmap rule refuses (a) strictly inside a VMA at M, and only there (pre-5.1)', () => {
    const at = (k: number) =>
      explainCase(move({ dst: 'mid', size: 'same', pressure: k }), 'pre-5.1', { maxMapCount: M });
    const refused = at(0).prediction.trace.find((t) => t.errno);
    expect(refused?.fn).toMatch(/\(a\) do_munmap/);
    expect(at(-1).prediction.trace.find((t) => t.errno)?.fn).toBe('move_vma()');
  });

  it('in-place calls need no new VMA: refused near the limit only by 7.1', () => {
    const s: Scenario = {
      ...move({}),
      layout: [{ label: 'old', page: 8, pages: 2, prot: 'rw', backing: 'anon' }],
      call: { old: 8, oldPages: 2, newPages: 1, flags: [] },
      pressure: -3,
    };
    for (const era of ERAS) {
      expect([era, outcomeOf(s, era)]).toEqual([era, era === '7.1+' ? 'ENOMEM before' : 'ok']);
    }
  });
});

describe('the VM_ACCOUNT charge (docs/kernel/checks.md#vrm-delta-charge)', () => {
  const cycle = (oldPages: number, newPages: number, flags: Scenario['call']['flags']) => ({
    ...move({}),
    layout: [
      { label: 'old', page: 8, pages: oldPages, prot: 'rw' as const, backing: 'anon' as const },
    ],
    call: {
      old: 8,
      oldPages,
      newPages,
      flags,
      ...(flags.includes('FIXED') ? { newAddr: 96 } : {}),
    },
    windowPages: 176,
  });
  // From the 6.15 refactor vrm->delta, taken before (b), is charged: the
  // pages (b) uncharged are charged again and never given back.
  it.each(ERAS.map((e) => [e] as const))(
    'a shrinking FIXED move leaks only from 6.15: %s',
    (era) => {
      const leaks = ERAS.indexOf(era) >= ERAS.indexOf('6.15-6.16');
      const drift = (s: Scenario) => {
        const x = explainCase(s, era, { maxMapCount: M });
        return cycleDriftPages(x.prediction, x.placement);
      };
      expect(drift(cycle(64, 32, ['MAYMOVE', 'FIXED']))).toBe(leaks ? 32 : 0);
      expect(drift(cycle(32, 32, ['MAYMOVE', 'FIXED']))).toBe(0);
      expect(drift(cycle(32, 64, ['MAYMOVE', 'FIXED']))).toBe(0);
      expect(drift(cycle(64, 32, []))).toBe(0);
      expect(drift(cycle(32, 64, []))).toBe(0);
    },
  );
});

describe('locked_vm through MREMAP_DONTUNMAP (docs/merges.md#dontunmap)', () => {
  // Pages a cycle leaves counted in locked_vm: the whole old VMA loses
  // VM_LOCKED; from 6.15 the copy is also counted before the flag goes; the
  // 2026 fix (6.12.114, 7.2.11) splits the old range off first.
  const leak = (id: string, era: EraId, version?: [number, number, number]) => {
    const s = catalogue().find((x) => x.id === id)!;
    const x = explainCase(s, era, { maxMapCount: M, ...(version ? { version } : {}) });
    return lockedDriftPages(x.prediction, x.placement, x.start.lockedVm);
  };
  it.each([
    ['5.1-5.15', [5, 10, 0], 1, 0],
    ['5.16-6.14', [6, 1, 0], 1, 0],
    ['5.16-6.14', [6, 12, 113], 1, 0],
    ['5.16-6.14', [6, 12, 114], 0, 0],
    ['6.15-6.16', [6, 16, 0], 2, 2],
    ['6.17-7.0', [6, 18, 44], 2, 2],
    ['7.1+', [7, 1, 3], 2, 2],
    ['7.1+', [7, 2, 10], 2, 2],
    ['7.1+', [7, 2, 11], 0, 0],
  ] as const)('%s on %j: part %i, whole %i', (era, v, part, whole) => {
    const version = [...v] as [number, number, number];
    expect(leak('invariant/locked-vm/dontunmap-part@none', era, version)).toBe(part);
    expect(leak('invariant/locked-vm/dontunmap-whole@none', era, version)).toBe(whole);
    expect(leak('invariant/locked-vm/fixed-part@none', era, version)).toBe(0);
    expect(leak('invariant/locked-vm/grow@none', era, version)).toBe(0);
  });
});

describe('features within an era follow the version', () => {
  const dontunmap = (backing: 'anon' | 'shmem') =>
    move({ backing, flags: ['MAYMOVE', 'FIXED', 'DONTUNMAP'] });

  it.each([
    [5, 7],
    [5, 10],
    [5, 11],
    [5, 14],
    [5, 15],
  ] as const)('a DONTUNMAP cycle keeps its accounts on %i.%i', (maj, min) => {
    const s = { ...dontunmap('anon'), windowPages: 176 };
    const x = explainCase(s, '5.1-5.15', { maxMapCount: M, version: [maj, min, 0] });
    expect(cycleDriftPages(x.prediction, x.placement)).toBe(0);
  });

  it('DONTUNMAP of shmem: EINVAL after (a) on 5.10 (dontunmap-vma-type), allowed on 5.15', () => {
    const s = dontunmap('shmem');
    const on510 = explainCase(s, '5.1-5.15', { maxMapCount: M, version: [5, 10, 0] });
    expect(on510.prediction.ret).toEqual({ ok: false, errno: 'EINVAL' });
    expect(on510.destroyed.map((d) => d.pieces)).toEqual([['dst']]);
    const on515 = explainCase(s, '5.1-5.15', { maxMapCount: M, version: [5, 15, 0] });
    expect(on515.prediction.ret.ok).toBe(true);
  });

  it('5.16 and 5.17 return +14 for a missing old VMA; 5.18 returns -EFAULT (positive-efault)', () => {
    const s = move({ old: 'none' });
    const at = (minor: number) =>
      explainCase(s, '5.16-6.14', { maxMapCount: M, version: [5, minor, 0] }).prediction.ret;
    expect(at(16)).toEqual({ ok: true, raw: 14 });
    expect(at(17)).toEqual({ ok: true, raw: 14 });
    expect(at(18)).toEqual({ ok: false, errno: 'EFAULT' });
  });
});

describe('every case of the catalogue under every era: a well-formed trace', () => {
  const cases = catalogue().flatMap((s) => ERAS.map((e) => [s.id, e, s] as const));
  it.each(cases)('%s under %s', (_id, era, s) => {
    const x = explainCase(s, era, { maxMapCount: M });
    const t = x.prediction.trace;
    expect(t.length).toBeGreaterThan(0);
    const failed = t.findIndex((step) => step.errno);
    if (x.prediction.ret.ok) {
      // A success names no errno, and (but for 5.16's +14) moved or changed something or said why not.
      expect(failed).toBe(-1);
    } else {
      // An error is the trace's last step; what it destroyed was changed by an earlier step.
      expect(failed).toBe(t.length - 1);
      expect(t[failed]!.errno).toBe(x.prediction.ret.errno);
      if (x.destroyed.length) expect(t.slice(0, failed).some((step) => step.changed)).toBe(true);
    }
    // The map count moves only by what the steps did.
    if (!t.some((step) => step.changed)) {
      expect(x.prediction.state.mapCount).toBe(x.start.mapCount);
    }
  });
});
