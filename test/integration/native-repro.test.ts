// Reproducers: for a sample of cases across every family, the generated C
// program compiles without warnings, runs on this kernel, and sees what the
// lab saw for the same case.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../lib/report/report.js';
import { FAMILIES } from '../../lib/scenarios/index.js';
import { cli, isLinux, envWithoutSanitizer } from '../helpers.js';

const hasCc = spawnSync('cc', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'mp-repro-'));

/** Two cases per family (the first and the last), but never an accounting case a leaking kernel would leak on. */
const sample = FAMILIES.flatMap((f) => {
  const ok = f.scenarios.filter((s) => !/accounting\/fixed-shrink/.test(s.id));
  return [...new Set([ok[0]!, ok.at(-1)!])].map((s) => s.id);
});

function result(stdout: string): Record<string, string> {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  expect(line).toBeDefined();
  return Object.fromEntries(
    line!
      .split(' ')
      .slice(1)
      .map((kv) => kv.split('=') as [string, string]),
  );
}

describe.skipIf(!isLinux || !hasCc)('mremap-probe repro', () => {
  it.each(sample)('%s: compiles cleanly, runs, and agrees with the lab', (id) => {
    const file = join(dir, `${id.replace(/[/@+]/g, '_')}.c`);
    const gen = cli(['repro', id, '--no-run', '--output', file]);
    expect(gen.status).toBe(0);
    const src = readFileSync(file, 'utf8');
    expect(src).toContain(`Written by: mremap-probe repro ${id} --no-run --output`);
    const exe = file.replace(/\.c$/, '');
    const cc = spawnSync('cc', ['-O2', '-Wall', '-static', '-o', exe, file], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    expect(cc.status).toBe(0);

    const accounting = id.includes('accounting');
    const run = cli([
      'run',
      '--filter',
      id,
      '--format',
      'json',
      ...(accounting ? ['--allow-global-effects'] : []),
    ]);
    const c = (JSON.parse(run.stdout) as RunReport).cases[0]!;
    const p = spawnSync(exe, { encoding: 'utf8', timeout: 120_000 });
    const r = result(p.stdout);
    const brokenOf = (v: string) => v === 'fail:destroyed' || v === 'fail:invariant';
    const broken = brokenOf(c.verdict);
    if (c.verdict === 'skip') {
      expect(r.verdict).toBe('skip');
      expect(p.status).toBe(4);
      return;
    }
    expect(r.verdict).toBe(broken ? 'broken' : 'kept');
    expect(p.status).toBe(broken ? 1 : 0);
    if (c.invariant?.kind === 'accounting') {
      expect(
        Math.abs(Number(r.drift_pages_per_cycle) - c.invariant.driftPagesPerCycle),
      ).toBeLessThan(0.5);
      return;
    }
    const o = c.observed!;
    expect(r.ret).toBe(o.errno ?? 'ok');
    expect(Number(r.mapcount_after) - Number(r.mapcount_before)).toBe(
      o.mapCountAfter - o.mapCountBefore,
    );
    expect(Number(r.destroyed_pages)).toBe(o.destroyed.reduce((n, d) => n + d.pages, 0));
    if (c.mapCountOffset !== null) {
      expect(Number(r.mapcount_before)).toBe(o.mapCountBefore);
    }
  });

  it('names the kernels a saved report saw it fail on, and what each era model predicts', () => {
    const report = join(dir, 'r.json');
    cli(['run', '--filter', 'lowaddr/**', '--format', 'json', '--output', report]);
    const r = cli([
      'repro',
      'lowaddr/dst-zero/old-mid/shrink@none',
      '--no-run',
      '--report',
      report,
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /Seen failing on:\n \* {3}Linux \S+ \(behaves like era [^)]+\): fail:destroyed: EPERM/,
    );
    expect(r.stdout).toMatch(/pre-5\.1 {4}BREAKS - EPERM after destroying old/);
  });

  it('--bisect gives git bisect run its statuses: 0 kept, 1 broken, 125 could not run', () => {
    const build = (id: string) => {
      const file = join(dir, `bisect-${id.replace(/[/@+]/g, '_')}.c`);
      expect(cli(['repro', id, '--no-run', '--output', file]).status).toBe(0);
      const exe = file.replace(/\.c$/, '');
      expect(spawnSync('cc', ['-O2', '-static', '-o', exe, file]).status).toBe(0);
      return exe;
    };
    // The reproducer is a static C program, not the addon: a sanitizer run's
    // preloaded runtime (LD_PRELOAD) would only make the shell under the
    // tight RLIMIT_AS below fail to reserve its shadow memory.
    const env = envWithoutSanitizer();
    const run = (exe: string, args: string[], asKb?: number) =>
      spawnSync('sh', ['-c', `${asKb ? `ulimit -v ${asKb}; ` : ''}exec "$0" "$@"`, exe, ...args], {
        encoding: 'utf8',
        timeout: 120_000,
        env,
      }).status;
    // Kept on every kernel: an in-place shrink needs no new VMA.
    const kept = build('inplace/old-whole/shrink@none');
    expect(run(kept, ['--bisect'])).toBe(0);
    // Broken on every era's model: EPERM after (a) and (b) below mmap_min_addr.
    const broken = build('lowaddr/dst-zero/old-mid/shrink@none');
    expect(run(broken, [])).toBe(1);
    expect(run(broken, ['--bisect'])).toBe(1);
    // No room for the fillers under a tight RLIMIT_AS: could not run.
    const pressed = build('fixed/dst-mid/old-mid/shrink@M-5');
    expect(run(pressed, [], 200_000)).toBe(4);
    expect(run(pressed, ['--bisect'], 200_000)).toBe(125);
  });

  it('an unknown case is a usage error', () => {
    const r = cli(['repro', 'nosuch/case@M']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no case "nosuch\/case@M"/);
  });
});
