// Every era held against a real kernel: the small bzImages in ../shared/kernels/
// (4.19.222, era pre-5.1; 5.17-rc5, era 5.16-6.14 before the 5.18-rc6 fix)
// booted under TCG in one matrix, and a real `git bisect run` of bisect-run
// over a fake tree whose "kernel" is one or the other, chosen by commit.
// MREMAP_PROBE_SHARED_KERNELS names another directory of those kernels.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainCase } from '../../lib/explain.js';
import { scenarioFileName } from '../../lib/explore/files.js';
import type { EraId } from '../../lib/model/types.js';
import type { MatrixReport } from '../../lib/report/matrix.js';
import type { RunReport } from '../../lib/report/report.js';
import { findScenario } from '../../lib/scenarios/index.js';
import { bin, cli, isLinux, root } from '../helpers.js';

const shared = resolve(
  process.env.MREMAP_PROBE_SHARED_KERNELS ?? join(root, '..', 'shared', 'kernels'),
);
const KERNELS: { file: string; release: RegExp; era: EraId }[] = [
  { file: 'bzImage-4.19.222', release: /^4\.19\.222/, era: 'pre-5.1' },
  { file: 'bzImage-5.17-rc5', release: /^5\.17\.0-rc5/, era: '5.16-6.14' },
];
const missing = KERNELS.filter((k) => !existsSync(join(shared, k.file))).map((k) => k.file);
const qemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const git = spawnSync('git', ['--version']).status === 0;

function why(): string | undefined {
  if (!isLinux) return 'needs Linux';
  if (!qemu) return 'needs qemu-system-x86_64';
  if (missing.length)
    return `no ${missing.join(', ')} in ${shared} (set MREMAP_PROBE_SHARED_KERNELS)`;
  return undefined;
}

/** The cases the era's model predicts to fail with mappings destroyed. */
function predictedDestroyed(report: RunReport, era: EraId): string[] {
  return report.cases
    .filter((c) => {
      const s = findScenario(c.id)!;
      if (s.invariant || c.verdict === 'skip') return false;
      const x = explainCase(s, era, {
        maxMapCount: report.limit.maxMapCount,
        version: report.kernel.version,
      });
      return !x.prediction.ret.ok && x.destroyed.length > 0;
    })
    .map((c) => c.id);
}

describe('the shared kernels under TCG', () => {
  it('each matches its era by version, case by case', (ctx) => {
    const skip = why();
    if (skip) ctx.skip(skip);
    const r = cli([
      'matrix',
      '--kernel',
      KERNELS.map((k) => join(shared, k.file)).join(','),
      '--accel',
      'tcg',
      '--jobs',
      '2',
      '--format',
      'json',
    ]);
    expect(r.stderr).not.toMatch(/internal error/);
    const m = JSON.parse(r.stdout) as MatrixReport;
    expect(m.kernels).toHaveLength(2);
    for (const [i, k] of KERNELS.entries()) {
      const col = m.kernels[i]!;
      expect(col.error).toBeNull();
      expect(col.originShort).toBe(`file: ${k.file}`);
      const report = col.report!;
      expect(report.kernel.release).toMatch(k.release);
      // Measured in a guest without process_vm_writev (tinyconfig): still readable.
      expect(report.kernel.protNoneReadable).toBe(true);
      expect(report.era.byVersion).toBe(k.era);
      expect(report.era.byBehaviour).toBe(k.era);
      expect(report.summary.counts['fail:model']).toBe(0);
      expect(report.summary.counts.broken).toBe(0);
      const destroyed = report.cases.filter((c) => c.verdict === 'fail:destroyed').map((c) => c.id);
      expect(destroyed.length).toBeGreaterThan(0);
      expect(destroyed).toEqual(predictedDestroyed(report, k.era));
    }
    // What tells the eras apart: the map-count check before (a) and (b) from 5.1 on.
    const id = 'fixed/dst-mid/old-mid/shrink@M-4';
    const cell = (i: number) => m.kernels[i]!.report!.cases.find((c) => c.id === id)!;
    expect(cell(0).verdict).toBe('fail:destroyed');
    expect(cell(1).verdict).toBe('pass');
    expect(cell(1).observed!.errno).toBe('ENOMEM');
  }, 600_000);
});

describe('matrix --explore over the shared kernels', () => {
  it("explores both with one seed and runs each kernel's findings on the other", (ctx) => {
    const skip = why();
    if (skip) ctx.skip(skip);
    const save = mkdtempSync(join(tmpdir(), 'mp-mx-save-'));
    const r = cli([
      'matrix',
      '--kernel',
      KERNELS.map((k) => join(shared, k.file)).join(','),
      '--accel',
      'tcg',
      '--jobs',
      '2',
      '--explore',
      '20s',
      '--seed',
      '1',
      '--save',
      save,
      '--format',
      'json',
    ]);
    expect(r.stderr).not.toMatch(/internal error/);
    // Findings are made: exit 1.
    expect(r.status).toBe(1);
    const m = JSON.parse(r.stdout) as MatrixReport;
    const e = m.explore!;
    expect(e.seed).toBe(1);
    expect(e.findings.length).toBeGreaterThan(0);
    for (const [i, col] of m.kernels.entries()) {
      expect(col.error).toBeNull();
      const x = col.explore!;
      expect(x.seed).toBe(1);
      expect(x.cases).toBeGreaterThan(100);
      expect(x.byBehaviour).toBe(KERNELS[i]!.era);
      expect(x.modelGapCases).toBe(0);
      expect(x.counts.broken ?? 0).toBe(0);
      // Every finding is a row of every kernel, judged there without a model failure.
      const ids = col.report!.cases.map((c) => c.id).sort();
      expect(ids).toEqual(e.findings.map((f) => f.id).sort());
      for (const c of col.report!.cases) expect(['broken', 'fail:model']).not.toContain(c.verdict);
    }
    // 5.17-rc5 returns EFAULT without its minus where no VMA is at the old
    // address (fixed in 5.17-rc6): a broken contract there, not on 4.19
    // (which keeps or shrinks a range before it looks for its VMA).
    const contract = e.findings.find((f) => f.kind === 'fail:contract');
    expect(contract, 'the 0xe finding of 5.17-rc5').toBeDefined();
    expect(contract!.foundOn).toEqual([1]);
    const cell = (i: number) => m.kernels[i]!.report!.cases.find((c) => c.id === contract!.id)!;
    expect(cell(1).verdict).toBe('fail:contract');
    expect(cell(0).verdict).toBe('pass');
    // 4.19 destroys the destination before a check fails at the limit: found
    // there, and 5.17 (the map-count check first) keeps it.
    const early = e.findings.find(
      (f) => f.kind === 'fail:destroyed' && f.foundOn.includes(0) && /ENOMEM/.test(f.signature),
    );
    expect(early, 'an ENOMEM after destruction on 4.19').toBeDefined();
    expect(m.kernels[1]!.report!.cases.find((c) => c.id === early!.id)!.verdict).toBe('pass');
    // --save wrote every finding, and the repro commands point there.
    const saved = readdirSync(save).sort();
    expect(saved).toEqual(e.findings.map((f) => scenarioFileName(f.id)).sort());
    for (const col of m.kernels)
      for (const c of col.report!.cases)
        if (c.repro) expect(c.repro).toContain(`--cases '${save}'`);
  }, 600_000);
});

// A fake tree whose `make bzImage` copies one shared kernel or the other into
// O=, as the file kernel-choice in the tree says.
const FAKE_MAKEFILE = `VERSION = 5
PATCHLEVEL = 10
SUBLEVEL = 0
EXTRAVERSION = -bisect
NAME = Fake Tree

tinyconfig:
\t@mkdir -p $(O) && echo 'CONFIG_64BIT=y' > $(O)/.config
olddefconfig:
\t@true
bzImage:
\t@mkdir -p $(O)/arch/x86/boot
\t@cp $(MP_SHARED_KERNELS)/bzImage-$$(cat kernel-choice) $(O)/arch/x86/boot/bzImage
`;

describe('git bisect run with bisect-run', () => {
  it('names the commit where the era changes', (ctx) => {
    const skip = why() ?? (git ? undefined : 'needs git');
    if (skip) ctx.skip(skip);
    const work = mkdtempSync(join(tmpdir(), 'mp-bisect-'));
    const tree = join(work, 'linux');
    mkdirSync(join(tree, 'arch', 'x86'), { recursive: true });
    const env = {
      ...process.env,
      MREMAP_PROBE_CACHE: join(work, 'cache'),
      MP_SHARED_KERNELS: shared,
      GIT_AUTHOR_NAME: 'test',
      GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'test',
      GIT_COMMITTER_EMAIL: 'test@example.invalid',
    };
    const run = (cmd: string, args: string[]) =>
      spawnSync(cmd, args, { cwd: tree, env, encoding: 'utf8', timeout: 900_000 });
    run('git', ['init', '-q']);
    writeFileSync(join(tree, 'Makefile'), FAKE_MAKEFILE);
    writeFileSync(join(tree, 'Kconfig'), 'config 64BIT\n\tbool\n');
    const commits: string[] = [];
    const commit = (choice: string, note: string) => {
      writeFileSync(join(tree, 'kernel-choice'), `${choice}\n`);
      writeFileSync(join(tree, 'notes'), `${note}\n`);
      run('git', ['add', '.']);
      run('git', ['commit', '-qm', note]);
      commits.push(run('git', ['rev-parse', 'HEAD']).stdout.trim());
    };
    commit('4.19.222', 'one');
    commit('4.19.222', 'two');
    commit('4.19.222', 'three');
    commit('5.17-rc5', 'four: the era changes');
    commit('5.17-rc5', 'five');
    commit('5.17-rc5', 'six');
    expect(run('git', ['bisect', 'start', commits[5]!, commits[0]!]).status).toBe(0);
    const r = run('git', [
      'bisect',
      'run',
      process.execPath,
      bin,
      'bisect-run',
      'fixed/dst-mid/old-mid/shrink@M-4',
      '--source',
      '.',
      '--good',
      'era:pre-5.1',
      '--bad',
      'ENOMEM,kept',
      '--accel',
      'tcg',
    ]);
    expect(r.stdout).toMatch(new RegExp(`^${commits[3]} is the first bad commit`, 'm'));
    expect(r.stdout).toMatch(/^good: Linux 4\.19\.222 .*ENOMEM,destroyed/m);
    expect(r.stdout).toMatch(/^bad: Linux 5\.17\.0-rc5 .*ENOMEM,kept/m);
    run('git', ['bisect', 'reset']);
  }, 900_000);
});
