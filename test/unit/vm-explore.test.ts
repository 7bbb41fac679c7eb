// vm/matrix --explore without a guest: the probe's arguments in the guest,
// the findings of several kernels made one set of rows, the initramfs with
// the findings appended, and the summary under the matrix.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBudget } from '../../lib/cli/explore.js';
import { parseScenarioFile } from '../../lib/explore/files.js';
import { generateScenarios } from '../../lib/explore/generate.js';
import type { ExploreReport, FindingReport } from '../../lib/report/explore.js';
import { exploreLines, type MatrixReport } from '../../lib/report/matrix.js';
import type { Scenario } from '../../lib/scenarios/types.js';
import { guestArgs } from '../../lib/vm/guest.js';
import { initramfsWithCases, writeCpio } from '../../lib/vm/initramfs.js';
import { unionFindings } from '../../lib/vm/matrix.js';

describe("the probe's arguments in a guest", () => {
  it('explore: the seed, the budget in ms, the lowered limit and no cap', () => {
    const a = guestArgs({ explore: { seed: 7, budgetMs: 120_000 }, guestLimit: 2048 });
    expect(a.slice(0, 5)).toEqual(['explore', '--seed', '7', '--budget', '120000ms']);
    expect(parseBudget(a[4]!)).toBe(120_000);
    expect(a.join(' ')).toMatch(/--lower-limit 2048 --allow-global-effects/);
    expect(a).not.toContain('--filter');
  });

  it('the findings: run the scenario files under /cases only', () => {
    const a = guestArgs({ casesOnly: true, filters: ['fixed/**'], era: '7.1+' });
    expect(a[0]).toBe('run');
    expect(a.join(' ')).toMatch(/--cases \/cases --filter explore\/\*\* --era 7\.1\+$/);
    expect(a).not.toContain('fixed/**');
  });
});

/** Every entry of a newc stream of one or more archives, as the kernel unpacks it. */
function cpioNames(buf: Buffer): string[][] {
  const archives: string[][] = [[]];
  let at = 0;
  while (at < buf.length) {
    if (buf[at] === 0) {
      at++; // padding between archives
      continue;
    }
    expect(buf.toString('ascii', at, at + 6)).toBe('070701');
    const field = (i: number) =>
      parseInt(buf.toString('ascii', at + 6 + i * 8, at + 14 + i * 8), 16);
    const size = field(6);
    const nameBytes = field(11);
    const name = buf.toString('utf8', at + 110, at + 110 + nameBytes - 1);
    at += Math.ceil((110 + nameBytes) / 4) * 4;
    at += Math.ceil(size / 4) * 4;
    if (name === 'TRAILER!!!') archives.push([]);
    else archives.at(-1)!.push(name);
  }
  return archives.filter((a) => a.length);
}

describe('the initramfs with the findings', () => {
  it('is the guest initramfs with a second archive holding /cases', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-cases-'));
    const base = join(dir, 'guest.cpio');
    writeCpio(base, [
      { path: 'init', mode: 0o100755, data: '#!/bin/sh\n' },
      { path: 'odd', mode: 0o100644, data: 'abc' },
    ]);
    const files = new Map([
      ['a.json', '{"a":1}\n'],
      ['b.json', '{}'],
    ]);
    const out = initramfsWithCases(base, files, dir);
    const buf = readFileSync(out);
    expect(buf.subarray(0, readFileSync(base).length)).toEqual(readFileSync(base));
    expect(cpioNames(buf)).toEqual([
      ['init', 'odd'],
      ['cases', 'cases/a.json', 'cases/b.json'],
    ]);
    expect(buf.toString('utf8')).toContain('{"a":1}\n');
  });
});

/** A finding of an explore report, as much of it as unionFindings reads. */
function finding(s: Scenario, signature: string): FindingReport {
  return {
    signature,
    kind: 'fail:destroyed',
    verdict: 'fail:destroyed',
    reason: 'r',
    scenario: s,
    firstCase: s.id,
    count: 1,
  } as unknown as FindingReport;
}

const report = (findings: FindingReport[]) =>
  ({ tool: { version: '0.0.0' }, seed: 1, findings }) as unknown as ExploreReport;

describe("the findings of several kernels' explores", () => {
  const [a, b, c] = generateScenarios(1, 3);

  it('are one row per scenario, with every kernel that found it', () => {
    const { findings, files } = unionFindings(
      [report([finding(a!, 'sa'), finding(b!, 'sb')]), null, report([finding(a!, 'sa')])],
      (i) => `k${i}`,
    );
    expect(findings.map((f) => [f.id, f.foundOn])).toEqual([
      [a!.id, [0, 2]],
      [b!.id, [0]],
    ]);
    expect(files.size).toBe(2);
    for (const [name, text] of files) {
      const f = parseScenarioFile(JSON.parse(text), name);
      expect(f.origin.command).toBe('matrix --explore');
    }
  });

  it('another scenario under a taken id gets the column in its id', () => {
    const other = { ...c!, id: a!.id };
    const { findings, files } = unionFindings(
      [report([finding(a!, 'sa')]), report([finding(other, 'sc')])],
      (i) => `k${i}`,
    );
    const id = a!.id.replace('@', '-k2@');
    expect(findings.map((f) => f.id)).toEqual([a!.id, id]);
    const text = [...files.values()][1]!;
    expect(parseScenarioFile(JSON.parse(text), 'x').scenario.id).toBe(id);
  });

  it('are listed under the matrix with the kernels that found them', () => {
    const { findings } = unionFindings([report([finding(a!, 'sa')]), report([])], () => '');
    const k = (release: string) => ({
      spec: release,
      release,
      elapsedMs: 0,
      report: null,
      error: null,
      explore: {
        seed: 1,
        elapsedMs: 1,
        cases: 10,
        perSecond: 5,
        byBehaviour: '7.1+',
        judgedBy: '7.1+',
        counts: { broken: 0 },
        modelGapCases: 0,
        findings: [],
        notes: [],
      },
    });
    const m: MatrixReport = {
      schema: 'mremap-probe/matrix-report/v1',
      tool: { name: 'mremap-probe', version: '0' },
      startedAt: '',
      elapsedMs: 0,
      kernels: [k('6.12.1'), k('7.2.1')],
      explore: { seed: 1, budgetMs: 60_000, findings, saved: '/tmp/f' },
    };
    const text = exploreLines(m).join('\n');
    expect(text).toMatch(/^explore: seed 1, 60 s per kernel/);
    expect(text).toMatch(/6\.12\.1: 10 cases \(5\/s\)/);
    expect(text).toContain(`${a!.id}: fail:destroyed, found on 6.12.1\n    sa`);
    expect(text).toMatch(/scenario files in \/tmp\/f/);
  });
});
