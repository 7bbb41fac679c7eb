// `mremap-probe run` refuses bad input before running anything.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-run-usage-'));

describe('run refuses bad input with one line and exit 2', () => {
  it('an unknown era', () => {
    const r = cli(['run', '--era', '4.4-and-older']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown era "4.4-and-older": use one of pre-5.1, /);
  });

  it('a filter that matches nothing', () => {
    const r = cli(['run', '--filter', 'nosuch/**']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no case matches "nosuch\/\*\*"/);
  });

  it('an unknown format', () => {
    const r = cli(['run', '--format', 'pdf']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown format "pdf"/);
  });

  it('an output path that cannot be written: nothing is run, nothing is left behind', () => {
    const out = join(dir, 'no-such-dir', 'r.json');
    const r = cli(['run', '--output', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot write .*r\.json/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp') || f.includes('.probe'))).toEqual([]);
  });
});
