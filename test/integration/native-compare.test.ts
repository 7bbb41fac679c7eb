// `compare`: two saved run reports of this kernel, judged by two eras' models.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../lib/report/report.js';
import { cli, isLinux, runReportTo } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-compare-'));

describe.skipIf(!isLinux)('compare', () => {
  let a: RunReport;
  beforeAll(() => {
    runReportTo(join(dir, 'a.json'), 'fixed/dst-mid/**');
    runReportTo(join(dir, 'b.json'), 'fixed/dst-mid/**', '--era', 'pre-5.1');
    a = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'));
  });

  it('compare finds nothing between a report and itself (exit 0)', () => {
    const r = cli(['compare', join(dir, 'a.json'), join(dir, 'a.json')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/every case in both reports has the same outcome/);
  });

  it('compare lists the cases whose outcome differs (exit 1)', () => {
    const r = cli(['compare', join(dir, 'a.json'), join(dir, 'b.json'), '--json']);
    expect(r.status).toBe(1);
    const d = JSON.parse(r.stdout) as { diffs: { id: string; a: string; b: string }[] };
    expect(d.diffs.length).toBeGreaterThan(0);
    expect(d.diffs.every((x) => a.cases.some((c) => c.id === x.id))).toBe(true);
    for (const x of d.diffs) expect(x.a).not.toBe(x.b);
  });

  it('compare refuses a file that is not a run report', () => {
    const r = cli(['compare', join(dir, 'a.json'), '/etc/hostname']);
    expect(r.status).toBe(2);
  });
});
