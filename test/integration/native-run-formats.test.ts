// `mremap-probe run` in its machine-readable formats: KTAP, JUnit, the case list.
import { Parser } from 'tap-parser';
import { describe, expect, it } from 'vitest';
import { create } from 'xmlbuilder2';
import { cli, isLinux } from '../helpers.js';

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
