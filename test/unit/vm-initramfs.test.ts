// The guest's init script and its initramfs.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { INIT_SCRIPT, isStatic } from '../../lib/vm/initramfs.js';
import { isLinux } from '../helpers.js';

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
