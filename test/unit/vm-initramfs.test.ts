// The guest's init script and its initramfs.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCHES } from '../../lib/vm/arch.js';
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
    expect(INIT_SCRIPT).toMatch(/> "\$port"/);
    // A reboot ends QEMU (-no-reboot) on any kernel; poweroff -f halts one without ACPI.
    expect(INIT_SCRIPT).toMatch(/reboot -f/);
    expect(INIT_SCRIPT).not.toMatch(/^\$B poweroff/m);
  });
});

describe("the guest's report port", () => {
  // The lines of /init that pick the port, run against a given kernel command line.
  const pick = (cmdline: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-init-'));
    writeFileSync(join(dir, 'cmdline'), `${cmdline}\n`);
    const lines = INIT_SCRIPT.split('\n').filter((l) => /^port=|^\[ "\$port" = \/dev\/ \]/.test(l));
    expect(lines).toHaveLength(2);
    const script = `B=\n${lines.join('\n').replaceAll('/proc/cmdline', join(dir, 'cmdline'))}\necho "$port"`;
    return spawnSync('sh', ['-c', script], { encoding: 'utf8' }).stdout.trim();
  };

  it('is the one the kernel command line names: hvc0 on arm64, ttyS1 on x86-64', () => {
    for (const a of Object.values(ARCHES))
      expect(pick(`console=${a.console} quiet mp.port=${a.reportPort} mp.args=J3J1bic=`)).toBe(
        `/dev/${a.reportPort}`,
      );
  });

  it('is ttyS1 when the command line names none (an initramfs booted by hand)', () => {
    expect(pick('console=ttyS0 mp.args=J3J1bic=')).toBe('/dev/ttyS1');
  });

  it('falls back to the console, kernel messages turned down, when the kernel has no such port', () => {
    // Waits only while a built-in virtio console driver may still add the port.
    expect(INIT_SCRIPT).toMatch(
      /while \[ ! -c "\$port" \] && \[ -d \/sys\/bus\/virtio\/drivers\/virtio_console \]/,
    );
    const fallback = /if \[ ! -c "\$port" \]; then\n([^]*?)\nfi/.exec(INIT_SCRIPT)?.[1] ?? '';
    expect(fallback).toMatch(/port=\/dev\/console/);
    expect(fallback).toMatch(/echo 1 > \/proc\/sys\/kernel\/printk/);
  });
});
