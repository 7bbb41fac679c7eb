// A non-host kernel booted under TCG with the guest the probe builds: Debian's
// 5.10 (bullseye), whose mremap unmaps the destination before it looks up the
// old VMA. Needs qemu-system-x86_64, busybox-static and Debian's archive.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { explainCase } from '../../lib/explain.js';
import type { ExploreReport } from '../../lib/report/explore.js';
import type { RunReport } from '../../lib/report/report.js';
import { findScenario } from '../../lib/scenarios/index.js';
import { cli, isLinux } from '../helpers.js';

const qemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const apt = spawnSync('apt-get', ['--version']).status === 0;

describe.skipIf(!isLinux || !qemu || !apt)('mremap-probe vm --debian 5.10 (TCG)', () => {
  it('identifies the 5.1-5.15 era by behaviour, with the losses that era predicts', () => {
    const r = cli([
      'vm',
      '--debian',
      '5.10',
      '--accel',
      'tcg',
      '--format',
      'json',
      '--timeout',
      '900',
    ]);
    expect(r.stderr).toMatch(/booting Linux 5\.10\.\S+ under TCG/);
    expect(r.stdout.length).toBeGreaterThan(0);
    const report = JSON.parse(r.stdout) as RunReport;
    expect(report.kernel.release).toMatch(/^5\.10\./);
    expect(report.era.byVersion).toBe('5.1-5.15');
    expect(report.era.byBehaviour).toBe('5.1-5.15');
    expect(report.summary.counts.broken).toBe(0);
    expect(report.limit.loweredFrom).not.toBeNull();
    // Before 6.12 /proc/self/mem always reads PROT_NONE pages.
    expect(report.kernel.protNoneReadable).toBe(true);
    // Which cases destroy mappings on error is what the era's model says, case by case.
    const M = report.limit.maxMapCount;
    const predicted = report.cases
      .filter((c) => {
        const s = findScenario(c.id)!;
        if (s.invariant) return false;
        const x = explainCase(s, '5.1-5.15', { maxMapCount: M, version: report.kernel.version });
        return !x.prediction.ret.ok && x.destroyed.length > 0;
      })
      .map((c) => c.id);
    const destroyed = report.cases.filter((c) => c.verdict === 'fail:destroyed').map((c) => c.id);
    expect(destroyed).toEqual(predicted);
    expect(destroyed).toContain('fixed/dst-whole/old-none/same@none');
    expect(destroyed).toContain('dontunmap-shmem/dst-whole/old-whole/same@none');
    for (const c of report.cases.filter((x) => x.verdict === 'fail:destroyed')) {
      expect(c.predictedDestruction).toBe(true);
      expect(c.repro).toBeDefined();
    }
    // The accounting invariants run in the guest (thrown away): 5.10 keeps its accounts.
    const acct = report.cases.filter((c) => c.id.startsWith('invariant/accounting/'));
    expect(acct.length).toBe(6);
    expect(acct.every((c) => c.verdict === 'pass')).toBe(true);
    expect(r.status).toBe(1);
  }, 1_200_000);

  it('kernels list shows the kernel it fetched', () => {
    const r = cli(['kernels', 'list', '--json']);
    expect(r.status).toBe(0);
    const list = JSON.parse(r.stdout) as { release: string; suite: string }[];
    expect(list.some((k) => k.release.startsWith('5.10.') && k.suite === 'bullseye')).toBe(true);
  });
});

describe.skipIf(!isLinux || !qemu)('a guest that never reports', () => {
  it('a file that is no kernel: an error with the console tail, exit 1', () => {
    const r = cli(['vm', '--kernel', '/etc/hostname', '--accel', 'tcg', '--timeout', '60']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the guest stopped without a report/);
    expect(r.stderr).toMatch(/--- the guest console's last lines ---/);
  });
});

describe('vm and matrix refuse bad input', () => {
  it('vm needs exactly one kernel', () => {
    const r = cli(['vm']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/exactly one of --kernel PATH and --debian SPEC/);
  });

  it('a kernel spec that is neither a series nor a suite', () => {
    const r = cli(['kernels', 'fetch', 'potato']);
    expect([2, 4]).toContain(r.status);
    expect(r.stderr).toMatch(/a kernel spec is a series|could not run here/);
  });

  it('matrix without kernels', () => {
    const r = cli(['matrix']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/give kernels/);
  });
});

describe('a kernel that forbids forced reads (TCG)', () => {
  it('sid booted with proc_mem.force_override=ptrace: PROT_NONE pages unreadable, no model gap', (ctx) => {
    if (!isLinux || !qemu || !apt) ctx.skip('needs Linux, qemu-system-x86_64 and apt-get');
    const r = cli([
      'vm',
      '--debian',
      'sid',
      '--accel',
      'tcg',
      '--append',
      'proc_mem.force_override=ptrace',
      '--explore',
      '20s',
      '--seed',
      '1',
      '--format',
      'json',
      '--timeout',
      '900',
    ]);
    expect(r.stderr).not.toMatch(/internal error/);
    const x = JSON.parse(r.stdout) as ExploreReport;
    expect(x.kernel.protNoneReadable).toBe(false);
    expect(x.notes.join('\n')).toMatch(/does not let \/proc\/self\/mem read PROT_NONE pages/);
    // Generated layouts hold PROT_NONE pieces: the model reads them as the lab does.
    expect(x.cases.run).toBeGreaterThan(100);
    expect(x.modelGaps.cases).toBe(0);
    expect(x.counts.broken ?? 0).toBe(0);
    expect(x.counts['fail:model'] ?? 0).toBe(0);
  }, 900_000);
});
