// --era and --kernel mean one thing each in every command: --kernel names the
// kernel (a version, release or image for explain; an image to boot for vm and
// matrix) and the era follows it; --era names the model instead. A kernel the
// models do not cover, an --era that does not contain --kernel, and a vm
// --kernel that is not an image are usage errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, root } from '../helpers.js';

const CASE = 'fixed/dst-mid/old-mid/shrink@M-4';

describe('explain follows --kernel', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-era-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("--kernel 5.10 explains under 5.10's era, with 5.10's features", () => {
    const r = cli(['explain', CASE, '--kernel', '5.10']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      `${CASE} under the 5.1-5.15 model (features of Linux 5.10.0)`,
    );
    const j = JSON.parse(cli(['explain', CASE, '--kernel', '5.10', '--json']).stdout);
    expect(j.era).toBe('5.1-5.15');
  });

  it('a Debian release string is a kernel too', () => {
    const r = cli(['explain', CASE, '--kernel', '6.1.0-18-amd64']);
    expect(r.stdout.split('\n')[0]).toMatch(
      /under the 5\.16-6\.14 model \(features of Linux 6\.1\.0\)/,
    );
  });

  it('a kernel image: its version is read from the setup header', () => {
    // The x86 boot protocol's header: "HdrS" at 0x202, kernel_version at 0x20e.
    const img = Buffer.alloc(0x1000);
    img.write('HdrS', 0x202, 'latin1');
    img.writeUInt16LE(0x600, 0x20e);
    img.write('4.19.222 (builder@host) #1 SMP\0', 0x800, 'latin1');
    const f = join(dir, 'bzImage');
    writeFileSync(f, img);
    const r = cli(['explain', CASE, '--kernel', f]);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(
      /under the pre-5\.1 model \(features of Linux 4\.19\.222\)/,
    );
  });

  it('--era and --kernel together: the kernel must lie in the era', () => {
    expect(cli(['explain', CASE, '--kernel', '5.10', '--era', '5.1-5.15']).status).toBe(0);
    const r = cli(['explain', CASE, '--kernel', '5.10', '--era', '6.17-7.0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--kernel 5\.10 is in the 5\.1-5\.15 era, outside --era 6\.17-7\.0/);
  });

  it('a kernel the models do not cover is refused, saying what they cover', () => {
    const r = cli(['explain', CASE, '--kernel', '2.4.37']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/the era models cover Linux 2\.6 to /);
    const bad = cli(['explain', CASE, '--kernel', 'banana']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--kernel wants a version/);
  });

  it('explainCase(s, era) works as the README shows it, without options', async () => {
    const m = await import(join(root, 'dist', 'index.js'));
    const s = m.findScenario(CASE);
    const e = m.explainCase(s, '5.1-5.15');
    expect(e.text.split('\n')[0]).toBe(
      `${CASE} under the 5.1-5.15 model (features of Linux 5.15.0)`,
    );
    expect(e.text).toMatch(/M = 65530/);
  });
});

describe('vm and matrix: --kernel is an image to boot', () => {
  it('a version given to --kernel is a usage error that points at --debian', () => {
    for (const cmd of ['vm', 'matrix']) {
      const r = cli([cmd, '--kernel', '6.12']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(
        /--kernel 6\.12: no kernel image there; for Debian's 6\.12 kernel use --debian 6\.12/,
      );
    }
  });

  it('an unknown --era is a usage error everywhere', () => {
    for (const args of [
      ['run'],
      ['explain', CASE],
      ['vm', '--debian', '6.12'],
      ['matrix', '--debian', '6.12'],
    ]) {
      const r = cli([...args, '--era', '9.9-9.9']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/unknown era "9\.9-9\.9"/);
    }
  });

  it('every --help says what --era and --kernel mean', () => {
    for (const cmd of ['run', 'explain', 'vm', 'matrix']) {
      const h = cli([cmd, '--help']).stdout.replace(/\s+/g, ' ');
      expect(h, cmd).toMatch(/instead of the one the kernel's version falls in/);
    }
    for (const cmd of ['vm', 'matrix'])
      expect(cli([cmd, '--help']).stdout.replace(/\s+/g, ' ')).toMatch(
        /--kernel is an image to boot/,
      );
    expect(cli(['explain', '--help']).stdout.replace(/\s+/g, ' ')).toMatch(
      /The era follows the kernel/,
    );
  });
});
