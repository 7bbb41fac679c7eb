// A reader that goes away (`| head -1`) ends the output quietly: exit 0 for
// --help as other Unix tools do, the command's own status otherwise, and never
// an EPIPE stack. Few file descriptors (`ulimit -n`) are said in one line, and
// --help works with 32.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../lib/report/report.js';
import { bin, cli, isLinux } from '../helpers.js';

const FILTER = 'fixed/dst-mid/**';
const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
const probe = (args: string[]) => [process.execPath, bin, ...args].map(q).join(' ');

/** Runs `mremap-probe ARGS | head -1` in bash; status is the probe's own. */
function headOne(args: string[]) {
  const r = spawnSync('bash', ['-c', `${probe(args)} | head -1; exit "\${PIPESTATUS[0]}"`], {
    encoding: 'utf8',
  });
  return r;
}

/** Runs the probe under `ulimit -n n`. */
function withFiles(n: number, args: string[]) {
  return spawnSync('bash', ['-c', `ulimit -n ${n} && exec ${probe(args)}`], { encoding: 'utf8' });
}

const noStack = (stderr: string) => {
  expect(stderr).not.toMatch(/EPIPE|\n\s+at |internal error|Unhandled/);
};

describe('a closed standard output', () => {
  it('--help | head -1: exit 0, quietly', () => {
    const r = headOne(['--help']);
    expect(r.stdout).toMatch(/^Usage: mremap-probe/);
    expect(r.status).toBe(0);
    noStack(r.stderr);
    expect(r.stderr).toBe('');
  });

  it('run --help | head -1 and explain | head -1: exit 0, quietly', () => {
    for (const args of [
      ['run', '--help'],
      ['explain', 'fixed/dst-mid/old-mid/shrink@M-4'],
    ]) {
      const r = headOne(args);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
    }
  });
});

describe.skipIf(!isLinux)('a closed standard output after real work', () => {
  let dir: string;
  let saved: string;
  let status: number;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-epipe-'));
    saved = join(dir, 'r.json');
    const r = cli(['run', '--filter', FILTER, '--format', 'json', '--output', saved]);
    status = r.status!;
    const report = JSON.parse(readFileSync(saved, 'utf8')) as RunReport;
    expect(status).toBe(report.summary.failed ? 1 : 0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['table', 'json', 'html', 'junit'])(
    'report --format %s | head -1 keeps the status',
    (f) => {
      const r = headOne(['report', saved, '--format', f]);
      expect(r.status).toBe(status);
      noStack(r.stderr);
    },
  );

  it.each(['json', 'html'])("run --format %s | head -1 keeps the run's status", (f) => {
    const r = headOne(['run', '--filter', FILTER, '--format', f, '--no-progress']);
    expect(r.status).toBe(status);
    noStack(r.stderr);
  });
});

describe.skipIf(!isLinux)('few file descriptors', () => {
  it('ulimit -n 32: --help and info work', () => {
    const h = withFiles(32, ['--help']);
    expect(h.stderr).toBe('');
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/Usage: mremap-probe/);
    const i = withFiles(32, ['info']);
    expect(i.stderr).toBe('');
    expect(i.status).toBe(0);
  });

  it('below what a run needs: one line saying what is needed (exit 4), never a stack', (ctx) => {
    // Node itself holds some descriptors; sweep the limits just above that.
    const base = Number(
      spawnSync(
        process.execPath,
        ['-e', 'console.log(require("fs").readdirSync("/proc/self/fd").length)'],
        {
          encoding: 'utf8',
        },
      ).stdout,
    );
    let refused = 0;
    for (let n = base + 1; n <= base + 12; n++) {
      const r = withFiles(n, ['run', '--filter', 'inplace/**', '--format', 'json']);
      if (r.status === 4) {
        refused++;
        expect(r.stderr).toMatch(
          /^mremap-probe: could not run here: too many open files.*needs at least 64/,
        );
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      } else {
        expect(r.stderr, `ulimit -n ${n}`).not.toMatch(/EMFILE|internal error|\n\s+at /);
        expect(JSON.parse(r.stdout).summary.total).toBe(6);
      }
    }
    if (!refused) ctx.skip(`a run needed no more than ${base + 1} descriptors here`);
  });
});
