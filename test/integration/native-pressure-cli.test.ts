// `mremap-probe pressure` as a user runs it.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bin, cli, isLinux, underSanitizer } from '../helpers.js';

const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;

describe.skipIf(!isLinux)('mremap-probe pressure', () => {
  it.each(['M-8', 'M-1', 'M', 'M+1'])('--target %s --json reaches and verifies it', (target) => {
    const r = cli(['pressure', '--target', target, '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    const k = target === 'M' ? 0 : Number(target.slice(1));
    expect(out).toMatchObject({ target, mapCount: out.maxMapCount + k, verified: true });
    expect(out.elapsedMs).toBeGreaterThan(0);
  });

  it('a target past M+1 is reported as not reached, with the reason, exit 1', () => {
    const r = cli(['pressure', '--target', 'M+3']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/NOT reached/);
    expect(r.stdout).toMatch(/map_count > vm.max_map_count/);
  });

  it('a malformed target is a usage error', () => {
    const r = cli(['pressure', '--target', 'N-5']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a target is M, M-k, M\+k or a number/);
  });

  it('a limit too large to reach is "could not run here" (exit 4), with the way out', () => {
    const r = cli(['pressure', '--target', 'M-5', '--max-fill', '1000']);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/could not run here: vm.max_map_count is \d+, too large to reach/);
    expect(r.stderr).toMatch(/--lower-limit/);
  });

  it.skipIf(!hasPrlimit || underSanitizer)(
    'raises a soft RLIMIT_AS set by the environment, and says so',
    () => {
      const r = spawnSync(
        'prlimit',
        [
          '--as=8589934592:unlimited',
          process.execPath,
          bin,
          'pressure',
          '--target',
          'M-5',
          '--json',
        ],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.verified).toBe(true);
      expect(out.environment.raised).toEqual(['RLIMIT_AS 8589934592 -> unlimited']);
    },
  );
});
