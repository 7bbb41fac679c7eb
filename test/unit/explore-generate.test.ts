// The scenario generator: every scenario it draws is valid, and a seed
// always draws the same scenarios, wherever a batch starts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateScenarios, scenarioArb } from '../../lib/explore/generate.js';
import { validateScenario } from '../../lib/explore/validate.js';
import { catalogue } from '../../lib/scenarios/index.js';

const content = (s: { id: string }) => ({ ...s, id: '' });

describe('generated scenarios', () => {
  it('are valid (property)', () => {
    fc.assert(
      fc.property(scenarioArb(), (s) => {
        expect(validateScenario(s)).toEqual([]);
      }),
      { numRuns: 2000, seed: 4 },
    );
  });

  it('are valid for any pressure range, and stay inside it (property)', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(fc.integer({ min: -4096, max: 1 }), fc.integer({ min: -4096, max: 1 }))
          .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (range, seed) => {
          for (const s of generateScenarios(seed, 20, { pressure: range, noPressure: false })) {
            expect(validateScenario(s)).toEqual([]);
            expect(s.pressure).not.toBeNull();
            expect(s.pressure!).toBeGreaterThanOrEqual(range[0]);
            expect(s.pressure!).toBeLessThanOrEqual(range[1]);
          }
        },
      ),
      { numRuns: 50, seed: 5 },
    );
  });

  it('are the same for the same seed, and differ for another', () => {
    const a = generateScenarios(42, 300);
    expect(generateScenarios(42, 300)).toEqual(a);
    const b = generateScenarios(43, 300);
    expect(b.map(content)).not.toEqual(a.map(content));
    expect(new Set(a.map((s) => s.id)).size).toBe(300);
    expect(a[7]!.id).toMatch(/^explore\/42-7@(none|M([+-]\d+)?)$/);
  });

  it('a batch that starts later is the same cases as one long run (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 1, max: 40 }),
        (seed, from, count) => {
          const whole = generateScenarios(seed, from + count);
          expect(generateScenarios(seed, count, {}, from)).toEqual(whole.slice(from));
        },
      ),
      { numRuns: 30, seed: 6 },
    );
  });

  it('cover the space the issue names', () => {
    const all = generateScenarios(7, 3000);
    const olds = all.map((s) => s.layout.filter((p) => p.label.startsWith('old')).length);
    expect(Math.min(...olds)).toBe(1);
    expect(Math.max(...olds)).toBe(6);
    const flags = new Set(all.map((s) => s.call.flags.join('|')));
    for (const f of ['', 'MAYMOVE', 'MAYMOVE|FIXED', 'MAYMOVE|FIXED|DONTUNMAP', 'FIXED']) {
      expect(flags).toContain(f);
    }
    expect(all.some((s) => s.call.newAddr === 'zero')).toBe(true);
    expect(all.some((s) => s.call.otherFlags)).toBe(true);
    expect(all.some((s) => s.call.oldShort || s.call.newShort)).toBe(true);
    expect(all.some((s) => s.layout.some((p) => p.mlock))).toBe(true);
    expect(all.some((s) => s.limits?.as)).toBe(true);
    expect(new Set(all.map((s) => s.pressure))).toEqual(
      new Set([null, ...Array.from({ length: 14 }, (_, i) => i - 12)]),
    );
    for (const b of ['anon', 'shmem', 'memfd']) {
      expect(all.some((s) => s.layout.some((p) => p.backing === b))).toBe(true);
    }
  });
});

describe('validateScenario', () => {
  it('accepts the whole catalogue', () => {
    for (const s of catalogue()) expect(validateScenario(s), s.id).toEqual([]);
  });

  it('says why a scenario is not one the lab can take', () => {
    const s = generateScenarios(1, 1)[0]!;
    const bad = (f: (x: typeof s) => void) => {
      const c = structuredClone(s);
      f(c);
      return validateScenario(c);
    };
    expect(bad((c) => (c.id = 'a b'))).toEqual([expect.stringMatching(/has characters outside/)]);
    expect(bad((c) => (c.call.oldPages = 0))).toContain('old_len must be at least a page');
    expect(bad((c) => (c.pressure = 2))).toContain(
      'pressure must be an offset from M-4096 to M+1, or null',
    );
    expect(
      bad((c) =>
        c.layout.push({
          label: 'x',
          page: 0,
          pages: 2,
          prot: 'rw',
          backing: 'memfd',
          objectPages: 1,
        }),
      ),
    ).toContain('piece x: the memfd is smaller than its mapping (every page is stamped)');
  });
});
