// What the environment can refuse is reported as "could not run here" (exit 4),
// never as a kernel failure: a seccomp filter that blocks mremap, a /proc that
// is not there, a limit too large to reach.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../lib/report/report.js';
import { bin, isLinux, isRoot, underSanitizer } from '../helpers.js';

const hasCc = spawnSync('cc', ['--version']).status === 0;
const hasUnshare = spawnSync('unshare', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'mp-hazard-'));

// A wrapper that installs a seccomp filter answering EPERM to mremap, then execs.
const NOREMAP = `
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
  (void)argc;
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mremap, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p)) return 1;
  execvp(argv[1], argv + 1);
  return 1;
}
`;

describe.skipIf(!isLinux || !hasCc)('a seccomp filter that refuses mremap', () => {
  const wrapper = join(dir, 'noremap');
  beforeAll(() => {
    writeFileSync(`${wrapper}.c`, NOREMAP);
    const r = spawnSync('cc', ['-O2', '-o', wrapper, `${wrapper}.c`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
  });

  it('pressure: could not run here, exit 4, saying why', () => {
    const r = spawnSync(wrapper, [process.execPath, bin, 'pressure', '--target', 'M-5'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(
      /could not run here: mremap\(MREMAP_FIXED\) is refused here \(EPERM, seccomp mode 2\)/,
    );
  });

  it('run: every case skipped with the reason, exit 4, nothing reported as a kernel failure', () => {
    const r = spawnSync(
      wrapper,
      [process.execPath, bin, 'run', '--filter', 'fixed/**', '--format', 'json'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(4);
    const report = JSON.parse(r.stdout) as RunReport;
    expect(report.summary.allSkipped).toBe(true);
    for (const c of report.cases) expect(c.reason).toMatch(/could not run here: .*seccomp/);
  });
});

describe.skipIf(!isLinux || !isRoot || !hasUnshare || underSanitizer)('no /proc', () => {
  it.each([['pressure', '--target', 'M-5'], ['run'], ['info']])(
    '%s: could not run here, exit 4',
    (...args) => {
      const cmd = [process.execPath, bin, ...args].map((a) => `'${a}'`).join(' ');
      const r = spawnSync('unshare', ['-m', 'sh', '-c', `umount -l /proc && exec ${cmd}`], {
        encoding: 'utf8',
      });
      expect(r.status).toBe(4);
      expect(r.stderr).toMatch(
        /could not run here: cannot read \/proc\/\S+.*is \/proc mounted and readable\?/,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
    },
  );
});

describe.skipIf(!isLinux)('a vm.max_map_count too large to reach', () => {
  it('skips the pressure cases with the way out, and runs the rest', () => {
    const r = spawnSync(process.execPath, [bin, 'run', '--max-fill', '1000', '--format', 'json'], {
      encoding: 'utf8',
    });
    const report = JSON.parse(r.stdout) as RunReport;
    const pressured = report.cases.filter((c) => c.mapCountOffset !== null);
    const free = report.cases.filter(
      (c) => c.mapCountOffset === null && !c.id.startsWith('invariant/accounting/'),
    );
    expect(pressured.length).toBeGreaterThan(10);
    for (const c of pressured) {
      expect(c.verdict).toBe('skip');
      expect(c.reason).toMatch(/too large to reach .*--lower-limit/);
    }
    expect(free.length).toBeGreaterThan(20);
    for (const c of free) expect(c.verdict).not.toBe('skip');
    expect(report.summary.counts.broken).toBe(0);
  });
});
