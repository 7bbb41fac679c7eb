// `mremap-probe run` on this machine, end to end, in every format.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Parser } from 'tap-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { create } from 'xmlbuilder2';
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

  it('the seed layout: ENOMEM with everything intact at M-5, success at M-6 (6.17-7.0 kernels)', () => {
    if (report.era.byVersion !== '6.17-7.0') return;
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

describe.skipIf(!isLinux)('run output formats', () => {
  it('KTAP parses with a TAP parser, one result per case', async () => {
    const r = cli(['run', '--format', 'ktap', '--filter', 'fixed/**', '--filter', 'lowaddr/**']);
    expect(r.stdout.startsWith('KTAP version 1\n')).toBe(true);
    // tap-parser reads TAP 13/14; KTAP's first line is its version line.
    const tap = r.stdout.replace(/^KTAP version 1\n/, 'TAP version 14\n');
    const results = await new Promise<{
      count: number;
      pass: number;
      fail: number;
      skip: number;
      ok: boolean;
    }>((resolve) => {
      const p = new Parser((res) => resolve(res as never));
      p.end(tap);
    });
    const plan = Number(/^1\.\.(\d+)$/m.exec(r.stdout)![1]);
    expect(results.count).toBe(plan);
    expect(results.pass + results.fail).toBe(plan);
    expect(r.stdout).toMatch(/^# Totals: pass:\d+ fail:\d+ xfail:0 xpass:0 skip:\d+ error:\d+$/m);
    expect(r.status).toBe(results.fail ? 1 : 0);
  });

  it('JUnit XML is well-formed, with a testcase per case', () => {
    const r = cli(['run', '--format', 'junit', '--filter', 'dontunmap*/**']);
    const doc = create(r.stdout).end({ format: 'object' }) as {
      testsuites: { testsuite: { testcase: unknown[]; '@tests': string } };
    };
    const suite = doc.testsuites.testsuite;
    const n = Array.isArray(suite.testcase) ? suite.testcase.length : 1;
    expect(n).toBe(Number(suite['@tests']));
    expect(n).toBeGreaterThan(3);
  });

  it('--list lists the cases with what each family exercises, without running', () => {
    const r = cli(['run', '--list', '--filter', 'inplace/**']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/inplace\/old-whole\/shrink@none/);
    expect(r.stdout).toMatch(/families:\n {2}inplace: /);
  });
});

describe('run refuses bad input with one line and exit 2', () => {
  it('an unknown era', () => {
    const r = cli(['run', '--era', '4.4-and-older']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown era "4.4-and-older": use one of pre-5.1, /);
  });

  it('a filter that matches nothing', () => {
    const r = cli(['run', '--filter', 'nosuch/**']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no case matches "nosuch\/\*\*"/);
  });

  it('an unknown format', () => {
    const r = cli(['run', '--format', 'pdf']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown format "pdf"/);
  });

  it('an output path that cannot be written: nothing is run, nothing is left behind', () => {
    const out = join(dir, 'no-such-dir', 'r.json');
    const r = cli(['run', '--output', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot write .*r\.json/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp') || f.includes('.probe'))).toEqual([]);
  });
});

describe('explain', () => {
  it('shows the destination and the old tail unmapped before the ENOMEM in pre-5.1', () => {
    const r = cli([
      'explain',
      'fixed/dst-mid/old-mid/shrink@M-4',
      '--era',
      'pre-5.1',
      '--max-map-count',
      '65530',
    ]);
    expect(r.status).toBe(0);
    const out = r.stdout;
    const a = out.indexOf('(a) do_munmap(new_addr, new_len)');
    const b = out.indexOf('(b) do_munmap(addr + new_len, old_len - new_len)');
    const fail = out.indexOf('-> ENOMEM');
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(a);
    expect(fail).toBeGreaterThan(b);
    expect(out).toMatch(/move_vma\(\)\n\s+map_count 65528 >= max_map_count 65530 - 3 {2}-> ENOMEM/);
    expect(out).toMatch(/result: ENOMEM after mappings were destroyed/);
  });

  it('an unknown case is a usage error', () => {
    const r = cli(['explain', 'fixed/nothing@M']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no case "fixed\/nothing@M"/);
  });
});
