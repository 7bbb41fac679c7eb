// A case that cannot be set up with this environment's limits is skipped with
// its reason; the lab stays usable and every other case is judged as usual.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../lib/report/report.js';
import { bin, isLinux } from '../helpers.js';

const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;

describe.skipIf(!isLinux || !hasPrlimit)('a hard limit that keeps one case from running', () => {
  it('under prlimit --memlock=4096, only the RLIMIT_MEMLOCK case is skipped', () => {
    const run = (pre: string[]) => {
      const r = spawnSync('prlimit', [...pre, process.execPath, bin, 'run', '--format', 'json'], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      return JSON.parse(r.stdout) as RunReport;
    };
    const tight = run(['--memlock=4096']);
    const plain = run([]);
    expect(tight.summary.counts.broken).toBe(0);
    const skipped = tight.cases.filter(
      (c) =>
        c.verdict === 'skip' && !plain.cases.some((p) => p.id === c.id && p.verdict === 'skip'),
    );
    expect(skipped.map((c) => c.family)).toEqual(['limits-memlock']);
    expect(skipped[0]!.reason).toMatch(
      /^could not run here: .*RLIMIT_MEMLOCK.*hard limit of 4096 bytes/,
    );
    // Every other case has the verdict it has without the limit.
    for (const c of tight.cases.filter((x) => x.family !== 'limits-memlock')) {
      expect([c.id, c.verdict]).toEqual([c.id, plain.cases.find((p) => p.id === c.id)!.verdict]);
    }
    expect(tight.notes.join('\n')).toMatch(/could not run with this environment's limits/);
  });
});
