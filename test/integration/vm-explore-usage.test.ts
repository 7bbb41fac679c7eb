// vm/matrix --explore on the command line: what is refused, at once, in one
// line with exit 2, before anything is fetched or booted; nothing written.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';

describe('--explore of vm and matrix', () => {
  const cases: [string[], RegExp][] = [
    [['vm', '--debian', '6.12', '--explore', 'soon'], /--budget wants a duration/],
    [['matrix', '--debian', '6.12', '--explore', '0s'], /--budget wants a duration/],
    [['vm', '--debian', '6.12', '--seed', '3'], /--seed goes with --explore/],
    [['matrix', '--debian', '6.12', '--save', '/tmp/x'], /--save goes with --explore/],
    [
      ['matrix', '--debian', '6.12', '--explore', '60s', '--filter', 'fixed/**'],
      /--filter selects catalogue cases; --explore runs generated ones/,
    ],
    [
      ['vm', '--debian', '6.12', '--explore', '60s', '--format', 'ktap'],
      /--explore writes an explore report: use --format table, json, html/,
    ],
    [['vm', '--debian', '6.12', '--explore', '60s', '--seed', '-1'], /--seed/],
    [['vm', '--debian', '6.12', '--append', 'a\nb'], /--append wants kernel parameters/],
    [
      ['matrix', '--debian', '6.12', '--append', 'mp.args=x'],
      /mp\.\* parameters are the probe's own/,
    ],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), () => {
      const r = cli(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
  }

  it('an unwritable --save is refused before any guest, and -o is not written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-save-'));
    const out = join(dir, 'm.json');
    const r = cli([
      'matrix',
      '--debian',
      '6.12',
      '--explore',
      '60s',
      '--save',
      '/proc/version/x',
      '-o',
      out,
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot write scenario files in \/proc\/version\/x/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
