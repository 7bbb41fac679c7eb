// Long work shows progress on a terminal, and only there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, isLinux } from '../helpers.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'mp-progress-'));

describe.skipIf(!isLinux || !hasScript)('progress on a terminal', () => {
  it('run draws a progress bar on a TTY, and none when stderr is not one', () => {
    const out = join(dir, 'r.json');
    const tty = spawnSync(
      'script',
      [
        '-qec',
        `'${process.execPath}' '${bin}' run --filter 'inplace/**' --format json -o '${out}'`,
        '/dev/null',
      ],
      { encoding: 'utf8' },
    );
    expect(tty.stdout).toMatch(/running \[[#.]+\] \d+\/6 inplace\//);
    const pipe = spawnSync(
      process.execPath,
      [bin, 'run', '--filter', 'inplace/**', '--format', 'json', '-o', out],
      { encoding: 'utf8' },
    );
    expect(pipe.stderr).toBe('');
  });
});
