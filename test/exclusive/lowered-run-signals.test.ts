// SIGINT, SIGTERM and SIGHUP during a --lower-limit run stop it promptly:
// the lab children are killed, the limit is put back, the run says so and
// exits 128 + the signal, and no report is written. Needs root (it lowers
// the real sysctl); runs after all other tests.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bin, isLinux, isRoot } from '../helpers.js';

const SYSCTL = '/proc/sys/vm/max_map_count';
const read = () => Number(readFileSync(SYSCTL, 'utf8').trim());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!isLinux || !isRoot)('signals during a --lower-limit run (root)', () => {
  let original: number;
  let dir: string;
  beforeAll(() => {
    original = read();
    dir = mkdtempSync(join(tmpdir(), 'mp-signals-'));
  });
  // A case that failed with the limit left lowered must not make the next
  // one start from it (it would take the lowered limit for its own run's).
  afterEach(() => {
    if (read() !== original) writeFileSync(SYSCTL, `${original}\n`);
  });
  afterAll(() => {
    if (read() !== original) writeFileSync(SYSCTL, `${original}\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  it.for([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)(
    '%s: stops at the next case, restores the limit, writes nothing, exits %i',
    async ([signal, status], ctx) => {
      const out = join(dir, `${signal}.json`);
      const stateDir = join(dir, `state-${signal}`);
      const child = spawn(
        process.execPath,
        [bin, 'run', '--lower-limit', '4096', '--format', 'json', '--no-progress', '-o', out],
        {
          env: { ...process.env, MREMAP_PROBE_STATE_DIR: stateDir },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      let endedBy: string | null = null;
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code, sig) => {
          endedBy = sig;
          resolve(code);
        }),
      );
      // The limit is lowered before the first case: stop the process there,
      // queue the signal, and let it go on. A run that handles signals only
      // when it ends would go on to write its report first.
      const t0 = Date.now();
      while (read() !== 4096 && Date.now() - t0 < 10_000) await sleep(2);
      child.kill('SIGSTOP');
      // Stopped with the limit still lowered, the run has its handlers in
      // place (they are installed before the limit is lowered and removed
      // after it is restored), so the signal must reach them.
      if (read() !== 4096) {
        child.kill('SIGCONT');
        await exited;
        ctx.skip('the run had restored the limit before it could be stopped');
      }
      child.kill(signal);
      child.kill('SIGCONT');
      const code = await exited;
      expect(code, `ended by ${endedBy}; stderr: ${stderr}`).toBe(status);
      expect(existsSync(out)).toBe(false);
      expect(read()).toBe(original);
      expect(stderr).toMatch(new RegExp(`${signal}: the run stopped .*restored to ${original}`));
      expect(existsSync(join(stateDir, 'max_map_count.json'))).toBe(false);
    },
  );
});
