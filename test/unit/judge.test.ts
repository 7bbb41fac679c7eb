// The judge on hand-made observations: what a failed call destroyed, the
// differences from a prediction, the verdict of each kind of case, and era
// scoring. The observations stand for what the lab reports; the model is the
// real one.
import { describe, expect, it } from 'vitest';
import type { MachineFacts } from '../../lib/facts.js';
import { describeDifference, differences } from '../../lib/judge/differences.js';
import { eraByBehaviour } from '../../lib/judge/eras.js';
import { destroyedBetween, pageRuns, type Pages, type Snapshot } from '../../lib/judge/evidence.js';
import { judge } from '../../lib/judge/index.js';
import { layoutState, predict } from '../../lib/model/predict.js';
import type { EraId } from '../../lib/model/types.js';
import type { CaseInputs, ObservedRun } from '../../lib/observation.js';
import { place } from '../../lib/placement.js';
import { moveCase } from '../../lib/scenarios/geometry.js';
import type { PageState } from '../../lib/protocol.js';

const P = 4096;
const M = 65530;
const W = 0x10000;
const facts: MachineFacts = {
  pageSize: P,
  maxMapCount: M,
  version: [6, 18, 0],
  mmapMinAddr: 65536,
  overcommit: { mode: 0, totalPages: 1 << 22, commitLimit: 1 << 22, committed: 1 << 20 },
  capEff: 0n,
  beyondCommit: 1 << 23,
  taskSizePages: 2 ** 35 - 1,
  protNoneReadable: true,
};
const inputs: CaseInputs = {
  totalVm: 1000,
  dataVm: 500,
  lockedVm: 0,
  rlimitAs: Infinity,
  rlimitData: Infinity,
  rlimitMemlock: 2048,
  capIpcLock: true,
  capSysRawio: true,
};

const stamp = (object: number, page: number): PageState => ({ kind: 'stamp', object, page });

describe('destroyedBetween', () => {
  const before: Snapshot = {
    vmas: [{ start: 0, end: 4, perms: 'rw-p' }],
    pages: new Map([0, 1, 2, 3].map((p) => [p, stamp(1, p)] as [number, PageState])),
  };
  const label = () => 'old';

  it('a split that keeps every page destroys nothing', () => {
    const after: Snapshot = {
      vmas: [
        { start: 0, end: 2, perms: 'rw-p' },
        { start: 2, end: 4, perms: 'rw-p' },
      ],
      pages: before.pages,
    };
    expect(destroyedBetween(before, after, label)).toEqual([]);
  });

  it('names unmapped, zeroed, changed and re-protected pages, in runs', () => {
    const pages: Pages = new Map([
      [0, { kind: 'unmapped' }],
      [1, { kind: 'zero' }],
      [2, { kind: 'other' }],
      [3, stamp(1, 3)],
    ]);
    const after: Snapshot = {
      vmas: [
        { start: 1, end: 3, perms: 'rw-p' },
        { start: 3, end: 4, perms: 'r--p' },
      ],
      pages,
    };
    expect(destroyedBetween(before, after, label)).toEqual([
      { what: 'unmapped', start: 0, end: 1, pieces: ['old'] },
      { what: 'zeroed', start: 1, end: 2, pieces: ['old'] },
      { what: 'changed', start: 2, end: 3, pieces: ['old'] },
      { what: 'perms', start: 3, end: 4, pieces: ['old'] },
    ]);
  });
});

describe('pageRuns', () => {
  it('joins consecutive stamps of one object, and runs of one state', () => {
    const pages: Pages = new Map([
      [0, stamp(1, 0)],
      [1, stamp(1, 1)],
      [2, stamp(2, 0)],
      [3, { kind: 'zero' }],
      [4, { kind: 'zero' }],
      [6, { kind: 'unmapped' }],
    ]);
    expect(pageRuns(pages)).toEqual([
      { start: 0, end: 2, state: 'stamp 1:0..1' },
      { start: 2, end: 3, state: 'stamp 2:0' },
      { start: 3, end: 5, state: 'zero' },
      { start: 6, end: 7, state: 'unmapped' },
    ]);
  });
});

/** An observed run whose observation is what `era`'s model predicts, changed by `tweak`. */
function runAsPredicted(
  era: EraId,
  s = moveCase({
    family: 'fixed',
    dst: 'mid',
    old: 'mid',
    size: 'shrink',
    pressure: -4,
    summary: '',
  }),
  tweak: (r: ObservedRun) => void = () => {},
): ObservedRun {
  const p = place(s, facts, W);
  const start = { mapCount: M + (s.pressure ?? -1000), totalVm: 1000, dataVm: 500, lockedVm: 0 };
  const before = layoutState(p, start);
  const pred = predict(p, start, era, {
    maxMapCount: M,
    version: era === 'pre-5.1' ? [4, 19, 0] : [6, 18, 0],
    pageSize: P,
    rlimitAs: Infinity,
    rlimitData: Infinity,
    rlimitMemlock: 2048,
    capIpcLock: true,
    capSysRawio: true,
    mmapMinAddr: 65536,
    overcommit: facts.overcommit,
    taskSize: facts.taskSizePages,
  });
  const pagesOf = (st: typeof before) => {
    const m: Pages = new Map();
    for (let q = p.window; q < p.window + p.windowPages; q++) m.set(q, st.read(q));
    return m;
  };
  const views = (st: typeof before) =>
    st.vmas.map((v) => ({
      start: v.start,
      end: v.end,
      perms: `${v.read ? 'r' : '-'}${v.write ? 'w' : '-'}-${v.shared ? 's' : 'p'}`,
    }));
  const run: ObservedRun = {
    status: 'observed',
    placement: p,
    inputs,
    elapsedMs: 1,
    obs: {
      ret: pred.ret.ok
        ? { ok: true, value: BigInt('raw' in pred.ret ? pred.ret.raw : pred.ret.page * P) }
        : { ok: false, errno: pred.ret.errno },
      before: { vmas: views(before), pages: pagesOf(before) },
      after: { vmas: views(pred.state), pages: pagesOf(pred.state) },
      mapCountBefore: start.mapCount,
      mapCountAfter: pred.state.mapCount,
      mapCountMethod: 'counted',
      queryMethod: 'ioctl',
    },
  };
  tweak(run);
  return run;
}

describe('judge', () => {
  const on618 = { facts, era: '6.17-7.0' as const };

  it('pass: the observation is what the model predicts, nothing destroyed', () => {
    const v = judge(runAsPredicted('6.17-7.0'), on618);
    expect(v.verdict).toBe('pass');
    expect(v.reason).toBe('ENOMEM with nothing destroyed, as the model predicts');
    expect(v.matches['6.17-7.0']).toBe(true);
    expect(v.matches['pre-5.1']).toBe(false);
  });

  it('fail:destroyed whatever the model says, saying whether it predicted the loss', () => {
    // What pre-5.1 does (ENOMEM after (a) and (b)), judged by 6.17's model.
    const v = judge(runAsPredicted('pre-5.1'), on618);
    expect(v.verdict).toBe('fail:destroyed');
    expect(v.reason).toMatch(
      /^ENOMEM returned after mappings were destroyed: 1 page\(s\) of dst unmapped, 1 page\(s\) of old unmapped; the 6\.17-7\.0 model does not predict it$/,
    );
    expect(v.predictedDestruction).toBe(false);
    const byPre = judge(runAsPredicted('pre-5.1'), { facts, era: 'pre-5.1' });
    expect(byPre.predictedDestruction).toBe(true);
  });

  it('fail:model: nothing destroyed, but not what the model predicts', () => {
    const v = judge(
      runAsPredicted('6.17-7.0', undefined, (r) => {
        r.obs.mapCountAfter += 1;
      }),
      on618,
    );
    expect(v.verdict).toBe('fail:model');
    expect(v.differences).toEqual([{ kind: 'mapCount', expected: M - 4, observed: M - 3 }]);
    expect(v.reason).toBe(
      'differs from the 6.17-7.0 model: map count after: expected 65526, observed 65527',
    );
  });

  it('skip and broken carry their reason and match no era', () => {
    expect(judge({ status: 'skip', reason: 'why' }, on618)).toEqual({
      verdict: 'skip',
      reason: 'why',
      differences: [],
      matches: {},
    });
  });

  it('in-place invariant: a failing call that needs no new VMA fails whatever the model says', () => {
    const s = {
      ...moveCase({
        family: 'i',
        dst: 'unmapped',
        old: 'whole',
        size: 'shrink',
        pressure: -3,
        summary: '',
      }),
      call: { old: 32, oldPages: 2, newPages: 1, flags: [] },
      invariant: 'in-place' as const,
    };
    const v = judge(runAsPredicted('7.1+', s), { facts, era: '7.1+' });
    expect(v.verdict).toBe('fail:invariant');
    expect(v.invariant).toMatchObject({
      kind: 'in-place',
      kept: false,
      errno: 'ENOMEM',
      offset: -3,
    });
    expect(v.reason).toMatch(/the 7\.1\+ model agrees$/);
  });

  it("describes each kind of difference in the report's words", () => {
    const r = runAsPredicted('6.17-7.0', undefined, (x) => {
      x.obs.ret = { ok: true, value: 0x1000n };
      x.obs.after.pages.set(x.placement.window + 7, { kind: 'zero' });
    });
    const d = differences(
      r.placement,
      r.obs,
      predict(
        r.placement,
        { mapCount: M - 4, totalVm: 1000, dataVm: 500, lockedVm: 0 },
        '6.17-7.0',
        {
          maxMapCount: M,
          version: [6, 18, 0],
          pageSize: P,
          rlimitAs: Infinity,
          rlimitData: Infinity,
          rlimitMemlock: 2048,
          capIpcLock: true,
          capSysRawio: true,
          mmapMinAddr: 65536,
          overcommit: facts.overcommit,
          taskSize: facts.taskSizePages,
        },
      ),
    );
    const words = d.map((x) => describeDifference(x, r.placement));
    expect(words).toEqual([
      'return: expected ENOMEM, observed returns 0x1000',
      'pages: page 7: expected stamp 1:0, observed zero',
    ]);
  });
});

describe('eraByBehaviour', () => {
  it("picks the era that matches most cases, the version's era among ties", () => {
    const m = (...eras: EraId[]) => Object.fromEntries(eras.map((e) => [e, true]));
    const all = { 'pre-5.1': false, '6.17-7.0': false, '7.1+': false };
    const r = eraByBehaviour(
      [
        { ...all, ...m('6.17-7.0', '7.1+') },
        { ...all, ...m('6.17-7.0') },
      ],
      '7.1+',
    );
    expect(r.best).toBe('6.17-7.0');
    expect(r.scores['6.17-7.0']).toEqual({ matched: 2, of: 2 });
    const tie = eraByBehaviour([{ ...all, ...m('6.17-7.0', '7.1+') }], '7.1+');
    expect(tie).toMatchObject({ best: '7.1+', tied: ['6.17-7.0', '7.1+'] });
    expect(eraByBehaviour([], '7.1+').best).toBeNull();
  });
});
