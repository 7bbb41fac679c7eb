// The shrinker against synthetic oracles: pure functions of the scenario
// stand in for the lab, so the minimum each one allows is known.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateScenarios, scenarioArb } from '../../lib/explore/generate.js';
import { validateScenario } from '../../lib/explore/validate.js';
import { candidates, complexity, shrinkScenario, type Oracle } from '../../lib/explore/shrink.js';
import type { Scenario } from '../../lib/scenarios/types.js';

/** The first generated scenario (seed 1 on) that the oracle holds for. */
function firstHolding(holds: (s: Scenario) => boolean, pressure?: [number, number]): Scenario {
  for (let seed = 1; seed < 50; seed++) {
    const found = generateScenarios(
      seed,
      200,
      pressure ? { pressure, noPressure: false } : {},
    ).find(holds);
    if (found) return found;
  }
  throw new Error('no generated scenario holds');
}

const counting = (holds: (s: Scenario) => boolean) => {
  const seen: Scenario[] = [];
  const oracle: Oracle = (s) => {
    seen.push(s);
    return holds(s);
  };
  return { oracle, seen };
};

describe('shrinkScenario on synthetic oracles', () => {
  it('reaches the one-VMA, one-page minimum of "some VMA is PROT_NONE"', async () => {
    const holds = (s: Scenario) => s.layout.some((p) => p.prot === 'none');
    const start = firstHolding((s) => holds(s) && s.layout.length >= 3);
    const { oracle, seen } = counting(holds);
    const r = await shrinkScenario(start, oracle, { maxRuns: 1000 });
    expect(r.reproduced).toBe(true);
    expect(r.exhausted).toBe(false);
    expect(r.scenario.layout).toEqual([
      {
        label: expect.any(String),
        page: expect.any(Number),
        pages: 1,
        prot: 'none',
        backing: 'anon',
      },
    ]);
    expect(r.scenario.call).toEqual({ old: start.call.old, oldPages: 1, newPages: 1, flags: [] });
    expect(r.scenario.pressure).toBeNull();
    expect(r.scenario.limits).toBeUndefined();
    expect(r.scenario.requires).toBeUndefined();
    expect(complexity(r.scenario)).toEqual([1, 3, 0, 1, 0, 0]);
    // Every candidate the oracle saw was a valid scenario.
    expect(seen.every((s) => validateScenario(s).length === 0)).toBe(true);
    expect(r.runs).toBe(seen.length);
  });

  it('keeps the offset nearest the limit that still shows the finding', async () => {
    const holds = (s: Scenario) => s.pressure !== null && s.pressure >= -9 && s.pressure <= -3;
    const start = firstHolding((s) => s.pressure === -9, [-12, 1]);
    const r = await shrinkScenario(start, holds);
    expect(r.scenario.pressure).toBe(-3);
    expect(r.scenario.id).toMatch(/-min@M-3$/);
  });

  it('drops the pressure when it does not matter', async () => {
    const start = firstHolding((s) => s.pressure === -7, [-12, 1]);
    const r = await shrinkScenario(start, () => true);
    expect(r.scenario.pressure).toBeNull();
    expect(r.scenario.id).toMatch(/-min@none$/);
  });

  it('keeps exactly the flags and the VMAs the finding needs', async () => {
    const holds = (s: Scenario) =>
      s.call.flags.includes('FIXED') &&
      s.layout.filter((p) => p.label.startsWith('old')).length >= 2;
    const start = firstHolding((s) => holds(s) && s.call.flags.length === 3);
    const r = await shrinkScenario(start, holds, { maxRuns: 2000 });
    expect(r.scenario.call.flags).toEqual(['FIXED']);
    expect(r.scenario.layout).toHaveLength(2);
    expect(r.scenario.layout.every((p) => p.pages === 1 && p.label.startsWith('old'))).toBe(true);
    expect(complexity(r.scenario).slice(2)).toEqual([1, 0, 0, 0]);
  });

  it('gives up limits and capabilities only when they do not matter', async () => {
    const holds = (s: Scenario) => s.limits?.as !== undefined;
    const start = firstHolding(
      (s) => holds(s) && s.limits!.as!.headroom > 0 && (s.requires?.dropCaps?.length ?? 0) > 0,
    );
    const r = await shrinkScenario(start, holds, { maxRuns: 2000 });
    expect(r.scenario.limits).toEqual({ as: { headroom: 0 } });
    expect(r.scenario.requires?.dropCaps).toBeUndefined();
  });

  it('leaves a finding that does not show again as it was, after one run', async () => {
    const start = generateScenarios(3, 1)[0]!;
    const r = await shrinkScenario(start, () => false);
    expect(r).toMatchObject({ reproduced: false, runs: 1, steps: 0, scenario: start });
  });

  it('stops when the runs are spent, with the simplest case found so far', async () => {
    const start = firstHolding((s) => s.layout.length >= 4);
    const r = await shrinkScenario(start, () => true, { maxRuns: 5 });
    expect(r.runs).toBe(5);
    expect(r.exhausted).toBe(true);
    expect(r.steps).toBe(4);
    expect(r.scenario.layout.length).toBeLessThanOrEqual(start.layout.length - 4);
  });

  it('is deterministic: the same oracle gives the same minimum', async () => {
    const holds = (s: Scenario) => s.call.oldPages >= 3 && s.layout.length >= 1;
    const start = firstHolding((s) => holds(s) && s.call.oldPages >= 9);
    const a = await shrinkScenario(start, holds);
    const b = await shrinkScenario(start, holds);
    expect(b).toEqual(a);
    expect(a.scenario.call.oldPages).toBe(3);
  });
});

describe('shrink candidates', () => {
  it('are valid and strictly simpler than the scenario they come from', () => {
    fc.assert(
      fc.property(scenarioArb(), (s) => {
        const before = complexity(s);
        for (const c of candidates(s)) {
          expect(validateScenario(c)).toEqual([]);
          const after = complexity(c);
          const i = after.findIndex((x, k) => x !== before[k]);
          expect(i).toBeGreaterThanOrEqual(0);
          expect(after[i]!).toBeLessThan(before[i]!);
        }
      }),
      { numRuns: 300, seed: 12 },
    );
  });
});
