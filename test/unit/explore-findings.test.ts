// What the explorer makes of a verdict: the kind of finding and its
// signature, on hand-made verdicts that stand for what the judge returns.
import { describe, expect, it } from 'vitest';
import {
  classify,
  destroyedByRole,
  inPlaceScenario,
  needsNoNewVma,
  reasonShape,
} from '../../lib/explore/findings.js';
import type { Destroyed } from '../../lib/judge/evidence.js';
import type { CaseVerdict } from '../../lib/judge/index.js';
import type { Scenario } from '../../lib/scenarios/types.js';

const lost = (what: Destroyed['what'], pieces: string[], start = 10): Destroyed => ({
  what,
  start,
  end: start + 1,
  pieces,
});

/** A verdict of an observed case, with what the signature reads from it. */
function verdict(o: {
  verdict: string;
  errno?: string;
  destroyed?: Destroyed[];
  predicted?: boolean;
  fn?: string;
  differences?: CaseVerdict['differences'];
  matches?: CaseVerdict['matches'];
}): CaseVerdict {
  return {
    verdict: o.verdict,
    reason: 'r',
    differences: o.differences ?? [],
    matches: o.matches ?? { '6.17-7.0': true },
    ...(o.predicted === undefined ? {} : { predictedDestruction: o.predicted }),
    judged: {
      run: {
        obs: { ret: o.errno ? { ok: false, errno: o.errno } : { ok: true, value: 4096n } },
      },
      era: '6.17-7.0',
      prediction: {
        ret: { ok: false, errno: 'ENOMEM' },
        trace: [
          { fn: 'check_mremap_params()', what: 'ok' },
          { fn: o.fn ?? 'move_vma()', what: 'no room', errno: 'ENOMEM' },
        ],
      },
      destroyed: o.destroyed ?? [],
      predictedDestroyed: [],
    },
  } as unknown as CaseVerdict;
}

describe('destroyedByRole', () => {
  it('keeps the worst loss of each role, sorted', () => {
    expect(
      destroyedByRole([
        lost('perms', ['dst']),
        lost('changed', ['dst-2']),
        lost('unmapped', ['dst-3']),
        lost('zeroed', ['old', 'old-2']),
        lost('perms', ['free']),
      ]),
    ).toEqual(['dst:unmapped', 'old:zeroed', 'other:perms']);
    expect(destroyedByRole([])).toEqual([]);
  });
});

describe('classify', () => {
  it('passes and skips are no finding', () => {
    expect(classify(verdict({ verdict: 'pass' }))).toBeNull();
    expect(classify({ verdict: 'skip', reason: 'x', differences: [], matches: {} })).toBeNull();
  });

  it('fail:destroyed: errno, losses by role, and the failing step when the model predicts it', () => {
    const c = classify(
      verdict({
        verdict: 'fail:destroyed',
        errno: 'ENOMEM',
        predicted: true,
        destroyed: [lost('unmapped', ['dst']), lost('zeroed', ['old'])],
      }),
    )!;
    expect(c.signature).toBe(
      'fail:destroyed | ENOMEM | dst:unmapped+old:zeroed | predicted at move_vma()',
    );
    const unpredicted = classify(
      verdict({
        verdict: 'fail:destroyed',
        errno: 'EFAULT',
        predicted: false,
        destroyed: [lost('unmapped', ['dst'])],
        differences: [
          {
            kind: 'return',
            expected: { ok: true, page: 3 },
            observed: { ok: false, errno: 'EFAULT' },
          },
        ],
      }),
    )!;
    expect(unpredicted.signature).toBe(
      'fail:destroyed | EFAULT | dst:unmapped | not predicted: return (model ok)',
    );
  });

  it('the signature does not depend on where or how much was lost', () => {
    const a = verdict({
      verdict: 'fail:destroyed',
      errno: 'ENOMEM',
      predicted: true,
      destroyed: [lost('unmapped', ['dst'], 10)],
    });
    const b = verdict({
      verdict: 'fail:destroyed',
      errno: 'ENOMEM',
      predicted: true,
      destroyed: [lost('unmapped', ['dst-2'], 40), lost('unmapped', ['dst'], 50)],
    });
    expect(classify(a)!.signature).toBe(classify(b)!.signature);
  });

  it('fail:model when another era predicts it, a model gap when none does', () => {
    const diff: CaseVerdict['differences'] = [{ kind: 'mapCount', expected: 3, observed: 4 }];
    expect(
      classify(
        verdict({
          verdict: 'fail:model',
          differences: diff,
          matches: { '6.17-7.0': false, '7.1+': true },
        }),
      )!.signature,
    ).toBe('fail:model | ok | - | mapCount');
    expect(
      classify(
        verdict({
          verdict: 'fail:model',
          differences: diff,
          matches: { '6.17-7.0': false, '7.1+': false },
        }),
      )!.kind,
    ).toBe('model-gap');
    const threw = classify({
      verdict: 'broken',
      reason: 'the model cannot predict this case: no VMA at page 17 of 230',
      differences: [],
      matches: {},
    })!;
    expect(threw.signature).toBe('model-gap | - | - | model error: no VMA at page N of N');
  });

  it('any other fail: verdict keeps its name (fail:contract)', () => {
    expect(classify(verdict({ verdict: 'fail:contract' }))!.signature).toBe(
      'fail:contract | ok | - | predicted at move_vma()',
    );
  });

  it('in-place when the caller found that the call succeeds without pressure', () => {
    const c = classify(
      verdict({ verdict: 'fail:model', errno: 'ENOMEM', fn: 'vma_expand()' }),
      true,
    )!;
    expect(c.signature).toBe('in-place | ENOMEM | - | vma_expand()');
  });

  it('broken cases by the shape of their reason', () => {
    const b = (reason: string) =>
      classify({ verdict: 'broken', reason, differences: [], matches: {} })!.signature;
    // A crash and a hang are two findings; the numbers in a reason are not.
    expect(b('the lab child is gone: {"signal":"SIGSEGV","pid":101}')).toBe(
      b('the lab child is gone: {"signal":"SIGSEGV","pid":2202}'),
    );
    expect(b('the lab child is gone: {"signal":"SIGSEGV"}')).not.toBe(
      b('the lab child is gone: {"signal":"SIGKILL"}'),
    );
    expect(reasonShape('could not bring the map count to 65531: do_mmap refuses (65530)')).toBe(
      'could not bring the map count to N: do_mmap refuses',
    );
  });
});

describe('needsNoNewVma', () => {
  const base = (call: Partial<Scenario['call']>, layout?: Scenario['layout']): Scenario => ({
    id: 'x@M',
    family: 'x',
    summary: '',
    layout: layout ?? [{ label: 'old', page: 10, pages: 4, prot: 'rw', backing: 'anon' }],
    call: { old: 10, oldPages: 4, newPages: 4, flags: [], ...call },
    pressure: 0,
    windowPages: 64,
  });

  it('a same-size call, a shrink of the tail, a grow into free pages', () => {
    expect(needsNoNewVma(base({}))).toBe(true);
    expect(needsNoNewVma(base({ old: 11, oldPages: 3, newPages: 1 }))).toBe(true);
    expect(needsNoNewVma(base({ newPages: 8, flags: ['MAYMOVE'] }))).toBe(true);
  });

  it('not a shrink inside the VMA, a grow into a mapping, a move, or an unaligned address', () => {
    expect(needsNoNewVma(base({ oldPages: 2, newPages: 1 }))).toBe(false);
    const next = {
      label: 'dst',
      page: 16,
      pages: 1,
      prot: 'rw' as const,
      backing: 'anon' as const,
    };
    expect(needsNoNewVma(base({ newPages: 8 }, [...base({}).layout, next]))).toBe(false);
    expect(needsNoNewVma(base({ flags: ['MAYMOVE', 'FIXED'], newAddr: 40 }))).toBe(false);
    expect(needsNoNewVma(base({ oldMisalign: 1 }))).toBe(false);
    expect(needsNoNewVma(base({ old: 9 }))).toBe(false);
  });

  it("an in-place finding's case keeps its invariant; a case of another invariant is not one", () => {
    const s = inPlaceScenario(base({ newPages: 2, old: 12, oldPages: 2 }));
    expect(s.invariant).toBe('in-place');
    expect(needsNoNewVma(s)).toBe(true);
    expect(inPlaceScenario(s)).toBe(s);
    expect(needsNoNewVma({ ...base({}), invariant: 'accounting' })).toBe(false);
    expect(needsNoNewVma({ ...base({}), invariant: 'locked-vm' })).toBe(false);
  });
});
