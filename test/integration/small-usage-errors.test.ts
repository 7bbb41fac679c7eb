// The small usage errors: each one line on standard error and exit 2, found
// before any work; and `run --list` honouring --format json.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, isLinux } from '../helpers.js';

function expectUsage(args: string[], what: RegExp) {
  const r = cli(args);
  expect(r.stderr).toMatch(what);
  expect(r.status).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stdout).toBe('');
}

describe('usage errors', () => {
  it('pressure --target M-999999: a map count below 1', () => {
    expectUsage(['pressure', '--target', 'M-999999'], /--target M-999999 is -\d+ .*at least 1/);
  });

  it('pressure --target 99999999999999999999: not a number it can reach', () => {
    expectUsage(
      ['pressure', '--target', '99999999999999999999'],
      /not a number the probe can reach/,
    );
  });

  it('help nonsense', () => {
    expectUsage(['help', 'nonsense'], /unknown command 'nonsense'/);
  });

  it('kernels without a subcommand', () => {
    const r = cli(['kernels']);
    expect(r.status).toBe(2);
  });

  it.skipIf(!isLinux)(
    '--lower-limit that is not below the current limit, for root and others',
    () => {
      const M = Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8').trim());
      expectUsage(
        ['pressure', '--lower-limit', String(M), '--target', 'M'],
        new RegExp(`--lower-limit ${M} is not below vm.max_map_count \\(${M}\\)`),
      );
      expectUsage(['run', '--lower-limit', String(M + 1)], /is not below/);
    },
  );

  it('--list with a format it cannot list in', () => {
    expectUsage(['run', '--list', '--format', 'ktap'], /--list prints table or json/);
  });
});

describe('run --list --format json', () => {
  it('is a JSON list of the cases with id, family, summary and pressure', () => {
    const r = cli(['run', '--list', '--format', 'json', '--filter', 'fixed/dst-mid/**']);
    expect(r.status).toBe(0);
    const list = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(list.length).toBeGreaterThan(5);
    for (const c of list) {
      expect(Object.keys(c).sort()).toEqual(['family', 'id', 'pressure', 'summary']);
      expect(c.id).toMatch(/^fixed\/dst-mid\//);
      expect(c.family).toBe('fixed');
      expect(c.pressure).toMatch(/^(none|M([+-]\d+)?)$/);
    }
    const all = JSON.parse(cli(['run', '--list', '--format', 'json']).stdout) as unknown[];
    const table = cli(['run', '--list']).stdout;
    expect(table).toMatch(new RegExp(`\\n${all.length} cases \\(pressure`));
  });
});
