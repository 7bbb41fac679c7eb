// The outcomes bisect-run judges by, against a real report of this kernel, and
// the exit statuses git bisect run reads. (The whole recipe, with a guest per
// commit, is test/exclusive/shared-kernels.test.ts.)
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bisectSide, describeOutcome, parseOutcome } from '../../lib/bisect.js';
import type { CaseReport, RunReport } from '../../lib/report/report.js';
import { cli, isLinux } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-outcome-'));
// Destroyed on error in every era: EPERM after (a) and (b) below mmap_min_addr.
const LOWADDR = 'lowaddr/dst-zero/old-mid/shrink@none';
const INPLACE = 'inplace/old-whole/shrink@none';

describe.skipIf(!isLinux)('bisect-run outcomes', () => {
  let report: RunReport;
  let file: string;
  const byId = (id: string): CaseReport => report.cases.find((c) => c.id === id)!;
  beforeAll(() => {
    file = join(dir, 'run.json');
    const r = cli([
      'run',
      '--filter',
      LOWADDR,
      '--filter',
      INPLACE,
      '--format',
      'json',
      '--output',
      file,
    ]);
    expect(r.stderr).not.toMatch(/internal error/);
    report = JSON.parse(readFileSync(file, 'utf8')) as RunReport;
  });

  it('describes a case the way --good and --bad spell it', (ctx) => {
    const c = byId(LOWADDR);
    if (c.verdict === 'skip') ctx.skip(`${LOWADDR} skips here: ${c.reason}`);
    expect(describeOutcome(c)).toMatch(/^EPERM,destroyed \(fail:destroyed; matches /);
    expect(describeOutcome(byId(INPLACE))).toMatch(/^ok,kept \(pass; /);
  });

  it('judges good, bad and neither', (ctx) => {
    const c = byId(LOWADDR);
    if (c.verdict === 'skip') ctx.skip(`${LOWADDR} skips here: ${c.reason}`);
    const o = (t: string) => parseOutcome(t, LOWADDR);
    expect(bisectSide(c, o('EPERM,destroyed'), o('EPERM,kept')).status).toBe(0);
    expect(bisectSide(c, o('EPERM,kept'), o('EPERM,destroyed')).status).toBe(1);
    expect(bisectSide(c, o('EPERM,kept'), undefined).status).toBe(1);
    expect(bisectSide(c, undefined, o('fail:destroyed')).status).toBe(1);
    expect(bisectSide(c, o(`era:${report.era.byVersion}`), undefined).status).toBe(0);
    const neither = bisectSide(c, o('ENOMEM'), o('EFAULT'));
    expect(neither.status).toBe(125);
    expect(neither.why).toMatch(/matches neither --good nor --bad/);
    expect(bisectSide(c, o('EPERM'), o('destroyed')).status).toBe(125);
    // A saved report stands for a side: its result and destroyed/kept.
    expect(parseOutcome(`report:${file}`, LOWADDR).terms).toEqual([
      { kind: 'result', value: 'EPERM' },
      { kind: 'destroyed' },
    ]);
    expect(bisectSide(c, undefined, o(`report:${file}`)).status).toBe(1);
  });

  it('refuses what is no outcome', () => {
    expect(() => parseOutcome('ENOMEM,lost', LOWADDR)).toThrow(/"lost" is no outcome/);
    expect(() => parseOutcome('era:5.99', LOWADDR)).toThrow(/unknown era/);
    expect(() => parseOutcome(',', LOWADDR)).toThrow(/empty outcome/);
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ schema: 'x' }));
    expect(() => parseOutcome(`report:${join(dir, 'other.json')}`, LOWADDR)).toThrow(
      /not a run report/,
    );
    expect(() => parseOutcome(`report:${file}`, 'fixed/dst-mid/old-mid/shrink@M-4')).toThrow(
      /has no case/,
    );
  });

  it('a usage error stops git bisect run (128), never marks a commit bad', () => {
    for (const args of [
      ['bisect-run', LOWADDR, '--source', dir],
      ['bisect-run', 'no/such/case', '--source', dir, '--good', 'ok'],
      ['bisect-run', LOWADDR, '--source', dir, '--good', 'sometimes'],
      ['bisect-run', LOWADDR, '--source', dir, '--good', 'ok'],
      ['bisect-run', LOWADDR, '--good', 'ok'],
    ]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(128);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    }
    expect(cli(['bisect-run', '--help']).status).toBe(0);
  });
});
