// The command line run as a subprocess, as users run it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { describe, expect, it } from 'vitest';
import { cli, isLinux, root } from '../helpers.js';

describe('mremap-probe CLI basics', () => {
  it('--help explains the tool and lists the commands', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/vm\.max_map_count/);
    expect(r.stdout).toMatch(/info/);
    expect(r.stdout).toMatch(/Exit status/);
  });

  it('--version prints the package version', () => {
    const r = cli(['--version']);
    expect(r.status).toBe(0);
    const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { version: string };
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('an unknown option prints usage and exits 2, without a stack trace', () => {
    const r = cli(['--frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--frobnicate'/);
    expect(r.stderr).toMatch(/--help/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('an unknown command exits 2', () => {
    const r = cli(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });

  it('a bad --pid value is a usage error', () => {
    const r = cli(['maps', '--pid', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--pid wants an integer/);
  });
});

describe.skipIf(!isLinux)('info and maps', () => {
  it('info --json: release, max_map_count, gate VMA, and a count from one read', () => {
    const r = cli(['info', '--json']);
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.kernel.release).toBe(release());
    expect(info.kernel.version).toHaveLength(3);
    expect(info.kernel.maxMapCount).toBe(
      Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8')),
    );
    // The C library's page size (4 KiB on x86-64; 4, 16 or 64 KiB on arm64).
    expect(info.kernel.pageSize).toBe(
      Number(spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).stdout),
    );
    expect([4096, 16384, 65536]).toContain(info.kernel.pageSize);
    expect(typeof info.kernel.gateVma).toBe('boolean');
    const gate = info.kernel.gateVma ? 1 : 0;
    expect(info.process.mapCount).toBe(info.process.mapsLines - gate);
    expect(info.process.pid).toBeGreaterThan(0);
  });

  it('info prints a table for people', () => {
    const r = cli(['info']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/vm\.max_map_count\s+\d+/);
  });

  it('maps --json lists this process with a summary that matches the list', () => {
    const r = cli(['maps', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.vmas.length).toBe(out.summary.lines);
    expect(out.summary.mapCount).toBe(out.vmas.filter((v: { gate: boolean }) => !v.gate).length);
  });

  it('maps --pid reads another process', () => {
    const r = cli(['maps', '--pid', String(process.pid)]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`pid ${process.pid}: \\d+ VMAs counted`));
  });

  it('maps of a process that does not exist is a clear error', () => {
    const r = cli(['maps', '--pid', '999999999']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no process 999999999/);
  });
});

describe('without the native addon', () => {
  const env = { MREMAP_PROBE_ADDON: '/nonexistent/mremap_probe.node' };

  it('--help still works', () => {
    const r = cli(['--help'], env);
    expect(r.status).toBe(0);
  });

  it('importing the package works, and a call that needs the addon says what to do', () => {
    const script = `
      const m = await import(${JSON.stringify(`${root}/dist/index.js`)});
      console.log(m.nativeAvailable());
      try { m.mmap(0n, 4096, 1, 0x22); } catch (e) { console.log(e.name + ': ' + e.message); }
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^false\n/);
    expect(r.stdout).toMatch(/AddonUnavailableError: .*npm install/);
  });

  it('info fails with the same advice and no stack trace', () => {
    const r = cli(['info'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not built.*npm install/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
