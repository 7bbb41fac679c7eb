// The invariant families on this kernel. The accounting cases here are the
// ones no era's model expects to leak (a leak would stay in Committed_AS for
// good); the leaking shrinking move is exercised in a throwaway VM guest.
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../lib/report/report.js';
import { cli, isLinux } from '../helpers.js';

describe.skipIf(!isLinux)('invariants on this kernel', () => {
  it('in-place calls near the limit: each case reports its map count and kept/broken', () => {
    const r = cli(['run', '--filter', 'invariant/in-place/**', '--format', 'json']);
    const report = JSON.parse(r.stdout) as RunReport;
    expect(report.cases).toHaveLength(18);
    for (const c of report.cases) {
      expect(c.invariant).toMatchObject({ kind: 'in-place' });
      const inv = c.invariant as { kept: boolean; offset: number; mapCountBefore: number };
      expect(inv.mapCountBefore - report.limit.maxMapCount).toBe(inv.offset);
      expect(inv.offset).toBe(c.mapCountOffset);
      expect(c.verdict).toBe(inv.kept ? 'pass' : 'fail:invariant');
      expect(inv.kept).toBe(c.observed!.errno === null);
    }
    // Up to 7.0 the munmap rule spares each of these calls; 7.1 checks the
    // map count for every call and refuses from M-3 (docs/kernel/checks.md#locked-map-count-check).
    for (const c of report.cases) {
      const refused = report.era.byBehaviour === '7.1+' && c.mapCountOffset! >= -3;
      expect(c.verdict).toBe(refused ? 'fail:invariant' : 'pass');
    }
    expect(r.status).toBe(report.summary.failed ? 1 : 0);
  });

  it('accounting cases are skipped without --allow-global-effects, saying why', () => {
    const r = cli(['run', '--filter', 'invariant/accounting/**', '--format', 'json']);
    const report = JSON.parse(r.stdout) as RunReport;
    expect(
      report.cases.every((c) => c.verdict === 'skip' && /--allow-global-effects/.test(c.reason)),
    ).toBe(true);
    expect(r.status).toBe(4);
  });

  it('with --allow-global-effects, measures Committed_AS around 200 cycles and after the child exits', () => {
    interface Accounting {
      kind: string;
      kept: boolean;
      iterations: number;
      driftPagesPerCycle: number;
      oneCycleKb: { mapped: number; called: number };
      chargedChangeKb: number;
      predictedDriftPages: Record<string, number>;
    }
    // The single-cycle figures are medians over the 200 cycles, each read
    // right after its control: robust to other processes moving Committed_AS.
    const report = JSON.parse(
      cli([
        'run',
        '--allow-global-effects',
        '--filter',
        'invariant/accounting/{fixed-same,inplace-grow,inplace-shrink}@none',
        '--format',
        'json',
      ]).stdout,
    ) as RunReport;
    expect(report.cases).toHaveLength(3);
    for (const c of report.cases) {
      const inv = c.invariant as Accounting;
      expect(inv.kind).toBe('accounting');
      expect(inv.iterations).toBe(200);
      expect(inv.predictedDriftPages[report.era.judgedBy]).toBe(0);
      expect(inv.kept).toBe(true);
      expect(c.verdict).toBe('pass');
      expect(Math.abs(inv.driftPagesPerCycle)).toBeLessThan(0.5);
      // The mmap of the layout charged it; the call changed the charge by what it left mapped.
      expect(inv.oneCycleKb.mapped).toBeGreaterThan(0);
      expect(inv.oneCycleKb.called - inv.oneCycleKb.mapped).toBe(inv.chargedChangeKb);
    }
  });
});
