// The Debian mirror, taken from apt's own configuration.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemMirror } from '../../lib/vm/apt.js';
import { isLinux } from '../helpers.js';

describe("the Debian mirror from apt's configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-apt-'));
  const parts = join(dir, 'sources.list.d');
  mkdirSync(parts);

  it('reads deb822 .sources, skipping the security archive and disabled files', () => {
    writeFileSync(join(dir, 'sources.list'), '# nothing here\n');
    writeFileSync(
      join(parts, 'a.sources'),
      'Types: deb\nURIs: http://security.mirror.invalid/debian-security\nSuites: bookworm-security\nComponents: main\n',
    );
    writeFileSync(
      join(parts, 'b.sources'),
      'Types: deb\nURIs: http://mirror.invalid/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n',
    );
    writeFileSync(
      join(parts, 'c.list.disabled'),
      'deb http://other.invalid/debian bookworm main\n',
    );
    expect(systemMirror(join(dir, 'sources.list'), parts)).toBe('http://mirror.invalid/debian');
  });

  it('reads one-line sources.list entries, options included', () => {
    writeFileSync(
      join(dir, 'sources.list'),
      'deb [arch=amd64] http://oneline.invalid/debian trixie main\n',
    );
    expect(systemMirror(join(dir, 'sources.list'), join(dir, 'none'))).toBe(
      'http://oneline.invalid/debian',
    );
  });

  it('finds none where no Debian suite is configured', () => {
    writeFileSync(join(dir, 'sources.list'), 'deb http://ppa.invalid/ubuntu noble main\n');
    expect(systemMirror(join(dir, 'sources.list'), join(dir, 'none'))).toBeUndefined();
  });

  it.skipIf(!isLinux)("on this machine, it is one of apt's own sources", (ctx) => {
    const m = systemMirror();
    if (m === undefined) ctx.skip("no Debian suite in this machine's apt sources");
    const listing = spawnSync(
      'sh',
      [
        '-c',
        'cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null',
      ],
      { encoding: 'utf8' },
    ).stdout;
    expect(listing).toContain(m);
  });
});
