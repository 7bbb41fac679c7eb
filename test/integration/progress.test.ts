// The progress bar never costs the report: a pty whose size was never set
// (0 columns, as under `script -qec`), a very narrow terminal, TERM=dumb (no
// carriage returns or escape sequences there) and no terminal at all each
// end with the whole report written.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../lib/report/report.js';
import { bin, isLinux } from '../helpers.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
const FILTER = 'inplace/**';

describe.skipIf(!isLinux || !hasScript)('progress on odd terminals', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-progress-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Runs the probe on a pty made by script(1), after `setup` (stty...), with
   * the report written to a file; returns what the terminal showed.
   */
  function onPty(name: string, setup: string, env: NodeJS.ProcessEnv = {}) {
    const out = join(dir, `${name}.json`);
    const cmd = `${setup}; '${process.execPath}' '${bin}' run --filter '${FILTER}' --format json -o '${out}'`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    return { ...r, report: JSON.parse(readFileSync(out, 'utf8')) as RunReport };
  }

  const whole = (r: RunReport) => {
    expect(r.summary.total).toBe(6);
    expect(r.cases.every((c) => c.verdict !== 'broken')).toBe(true);
  };

  it('a pty of 0 columns: the report is whole and no internal error is said', () => {
    const r = onPty('zero', 'stty cols 0 rows 0');
    expect(r.stdout).not.toMatch(/internal error|Invalid count value/);
    expect(r.status).toBe(0);
    whole(r.report);
  });

  it('a terminal 5 columns wide: no bar, the report is whole', () => {
    const r = onPty('narrow', 'stty cols 5 rows 24 -onlcr');
    expect(r.stdout).not.toMatch(/internal error/);
    expect(r.stdout).not.toMatch(/\r/);
    expect(r.status).toBe(0);
    whole(r.report);
  });

  it('TERM=dumb: no carriage return and no escape sequence reach the terminal', () => {
    // -onlcr: the pty must not turn a newline into "\r\n" itself.
    const r = onPty('dumb', 'stty cols 120 rows 24 -onlcr', { TERM: 'dumb' });
    expect(r.stdout).not.toMatch(/\r|\x1b/);
    expect(r.status).toBe(0);
    whole(r.report);
  });

  it('no terminal at all: nothing on standard error, the report on standard output', () => {
    const r = spawnSync(process.execPath, [bin, 'run', '--filter', FILTER, '--format', 'json'], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    whole(JSON.parse(r.stdout) as RunReport);
  });
});
