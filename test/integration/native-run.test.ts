// `mremap-probe run` on this machine, end to end: the report, its schema, the era, the verdicts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { eraOfVersion } from '../../lib/model/types.js';
import type { RunReport } from '../../lib/report/report.js';
import { cli, isLinux, root } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-run-'));

describe.skipIf(!isLinux)('mremap-probe run on this kernel', () => {
  let report: RunReport;
  let status: number | null;
  beforeAll(() => {
    const r = cli(['run', '--format', 'json', '--output', join(dir, 'r.json')]);
    status = r.status;
    expect(r.stderr).toBe('');
    report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
  });

  it('writes a report that validates against the documented schema', () => {
    const schema = JSON.parse(
      readFileSync(join(root, 'schemas', 'run-report.v1.schema.json'), 'utf8'),
    );
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    const validate = ajv.compile(schema);
    const valid = validate(report);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('runs the whole default catalogue, with no broken case', () => {
    expect(report.cases.length).toBeGreaterThanOrEqual(60);
    expect(report.summary.counts.broken).toBe(0);
    expect(report.cases.filter((c) => c.verdict === 'broken')).toEqual([]);
  });

  it('names the era by version and finds the same era by behaviour', () => {
    expect(report.era.byVersion).toBe(eraOfVersion(report.kernel.version));
    expect(report.era.byBehaviour).toBe(report.era.byVersion);
    expect(report.era.agrees).toBe(true);
  });

  it('the seed layout: ENOMEM with everything intact at M-5, success at M-6 (5.1-7.0 kernels)', (ctx) => {
    // From 5.1 to 7.0 the early check refuses at c >= M-5; 7.1 moves it to M-3, pre-5.1 has none.
    const early = ['5.1-5.15', '5.16-6.14', '6.15-6.16', '6.17-7.0'];
    if (!early.includes(report.era.byVersion)) {
      ctx.skip(`this kernel's era (${report.era.byVersion}) has no early check at M-5`);
    }
    const at5 = report.cases.find((c) => c.id === 'fixed/dst-mid/old-mid/shrink@M-5')!;
    expect(at5.verdict).toBe('pass');
    expect(at5.observed!.errno).toBe('ENOMEM');
    expect(at5.observed!.destroyed).toEqual([]);
    expect(at5.observed!.vmasAfter).toEqual(at5.observed!.vmasBefore);
    expect(at5.observed!.mapCountBefore).toBe(report.limit.maxMapCount - 5);
    const at6 = report.cases.find((c) => c.id === 'fixed/dst-mid/old-mid/shrink@M-6')!;
    expect(at6.verdict).toBe('pass');
    expect(at6.observed!.errno).toBeNull();
    expect(at6.observed!.mapCountAfter - at6.observed!.mapCountBefore).toBe(3);
  });

  it('every case passes or says why not, and failures carry their evidence', () => {
    for (const c of report.cases) {
      expect(c.reason.length).toBeGreaterThan(0);
      if (c.verdict === 'pass' || c.verdict === 'skip') continue;
      expect(c.observed).not.toBeNull();
      expect(c.observed!.vmasBefore.length + c.observed!.pagesBefore.length).toBeGreaterThan(0);
      expect(c.expected!.trace.length).toBeGreaterThan(0);
      expect(c.repro).toMatch(/^mremap-probe repro /);
      if (c.verdict === 'fail:destroyed') {
        expect(c.observed!.errno).not.toBeNull();
        expect(c.observed!.destroyed.length).toBeGreaterThan(0);
        expect(typeof c.predictedDestruction).toBe('boolean');
      }
    }
  });

  it('lists every destroyed-on-error case in the summary, and exits 1 exactly when something failed', () => {
    const destroyed = report.cases.filter((c) => c.verdict === 'fail:destroyed').map((c) => c.id);
    expect(report.summary.destroyedOnError.map((d) => d.id)).toEqual(destroyed);
    expect(status).toBe(report.summary.failed ? 1 : 0);
  });
});
