// The pieces of the VM path that need no VM: framing of the report, the
// mirror taken from apt's configuration, the guest's init and initramfs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemMirror } from '../../lib/vm/apt.js';
import { INIT_SCRIPT, isStatic } from '../../lib/vm/initramfs.js';
import { unframe } from '../../lib/vm/qemu.js';
import { isLinux } from '../helpers.js';

function frame(report: string, status = 0): string {
  const b = Buffer.from(report);
  const sum = createHash('sha256').update(b).digest('hex');
  const b64 = b.toString('base64').replace(/(.{76})/g, '$1\n');
  return `MREMAP-PROBE-REPORT-BEGIN status=${status} bytes=${b.length} sha256=${sum}\n${b64}\nMREMAP-PROBE-REPORT-END\n`;
}

describe('the report frame on the second serial port', () => {
  const report = JSON.stringify({
    schema: 'x',
    cases: Array.from({ length: 50 }, (_, i) => ({ id: `c${i}` })),
  });

  it('round-trips, through a terminal that turns \\n into \\r\\n', () => {
    const raw = frame(report, 1).replaceAll('\n', '\r\n');
    const got = unframe(`boot noise\r\n${raw}`);
    expect(got.status).toBe(1);
    expect(got.report.toString()).toBe(report);
  });

  it('refuses a report whose bytes changed', () => {
    const raw = frame(report);
    const i = raw.indexOf('\n') + 10;
    const bad = raw.slice(0, i) + (raw[i] === 'A' ? 'B' : 'A') + raw.slice(i + 1);
    expect(() => unframe(bad)).toThrow(/sha256|bytes/);
  });

  it('refuses a cut report, and no report', () => {
    expect(() => unframe(frame(report).split('MREMAP-PROBE-REPORT-END')[0]!)).toThrow(/end marker/);
    expect(() => unframe('[    1.2] Kernel panic - not syncing\n')).toThrow(/no report header/);
  });
});

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

  it.skipIf(!isLinux)("on this machine, it is one of apt's own sources", () => {
    const m = systemMirror();
    if (m === undefined) return;
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

describe('the guest initramfs', () => {
  it.skipIf(!isLinux)('tells static from dynamic binaries by their program headers', () => {
    expect(isStatic(process.execPath)).toBe(false);
    const bb = ['/bin/busybox', '/usr/bin/busybox'].find(
      (p) => spawnSync(p, ['true']).status === 0,
    );
    if (bb && spawnSync('sh', ['-c', `file -L ${bb} | grep -q 'statically linked'`]).status === 0) {
      expect(isStatic(bb)).toBe(true);
    }
  });

  it('has an /init that the shell parses, sends the report framed and reboots', () => {
    const r = spawnSync('sh', ['-n'], { input: INIT_SCRIPT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(INIT_SCRIPT).toMatch(/MREMAP-PROBE-REPORT-BEGIN status=\$rc bytes=/);
    expect(INIT_SCRIPT).toMatch(/> \/dev\/ttyS1/);
    // A reboot ends QEMU (-no-reboot) on any kernel; poweroff -f halts one without ACPI.
    expect(INIT_SCRIPT).toMatch(/reboot -f/);
    expect(INIT_SCRIPT).not.toMatch(/^\$B poweroff/m);
  });
});
