// The package as its users get it: `npm pack` (whose prepack builds the
// linux-x64 and linux-arm64 prebuilds), then the tarball installed in an empty
// directory by an npm whose PATH holds node, npm, npx and sh and nothing else:
// no cc, g++, make or python3. Then the prebuild for this machine is removed
// and the install script must build the addon from source.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianUserland } from '../../lib/vm/userland.js';
import { isLinux, root } from '../helpers.js';

const ARCH = process.arch;
const EM = { x64: 62, arm64: 183 } as const; // ELF e_machine: EM_X86_64, EM_AARCH64

function onPath(tool: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  return undefined;
}

/** Why the tarball cannot be packed here, or undefined. */
function packBlocker(): string | undefined {
  if (!isLinux) return 'prebuilds are built on Linux';
  if (ARCH !== 'x64' && ARCH !== 'arm64') return `no prebuild is made for ${ARCH}`;
  const cross = ARCH === 'x64' ? 'aarch64-linux-gnu-g++' : 'x86_64-linux-gnu-g++';
  for (const t of ['g++', 'make', 'python3', cross])
    if (!onPath(t)) return `${t} is not installed (npm pack builds both prebuilds)`;
  return undefined;
}

/** The highest GLIBC_2.N version a shared object asks for. */
function glibcNeeded(file: Buffer): number {
  let max = 0;
  for (const m of file.toString('latin1').matchAll(/GLIBC_2\.(\d+)/g)) max = Math.max(max, +m[1]!);
  return max;
}

const blocker = packBlocker();
let work = '';
let tarball = '';
let packed: { path: string; size: number }[] = [];
let toolless = ''; // a bin directory with node, npm, npx and sh only

function npm(
  args: string[],
  cwd: string,
  path: string,
  timeout = 300_000,
): SpawnSyncReturns<string> {
  // A clean environment: HOME keeps npm's configuration (nodedir, cache), PATH is the point.
  return spawnSync(join(path.split(delimiter)[0]!, 'npm'), args, {
    cwd,
    encoding: 'utf8',
    env: { HOME: process.env.HOME, PATH: path },
    timeout,
  });
}

function probe(args: string[], cwd: string, path: string): SpawnSyncReturns<string> {
  return spawnSync(
    join(path.split(delimiter)[0]!, 'npx'),
    ['--no-install', 'mremap-probe', ...args],
    {
      cwd,
      encoding: 'utf8',
      env: { HOME: process.env.HOME, PATH: path },
      timeout: 300_000,
      maxBuffer: 64 << 20,
    },
  );
}

/** Packs the tarball and makes the toolless PATH (only where nothing blocks it). */
function packTarball(): void {
  work = mkdtempSync(join(tmpdir(), 'mremap-probe-pack-'));
  // Packed from a copy of the sources: prepare and prepack write dist/ and
  // prebuilds/, which other test files read at the same time.
  const src = join(work, 'src');
  mkdirSync(src);
  for (const f of [
    'package.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'binding.gyp',
    'CMakeLists.txt',
    'README.md',
    'bin',
    'lib',
    'native',
    'schemas',
    'scripts',
  ])
    cpSync(join(root, f), join(src, f), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(src, 'node_modules'));
  const r = spawnSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: src,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`npm pack failed:\n${r.stderr}`);
  const info = JSON.parse(r.stdout) as {
    filename: string;
    files: { path: string; size: number }[];
  }[];
  tarball = join(work, info[0]!.filename);
  packed = info[0]!.files;

  toolless = join(work, 'bin');
  mkdirSync(toolless);
  for (const t of ['node', 'npm', 'npx', 'sh'])
    symlinkSync(realpathSync(onPath(t)!), join(toolless, t));
}

// Where something blocks the packing, every test below skips with its reason.
beforeAll(() => {
  if (!blocker) packTarball();
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('carries a prebuild for linux-x64 and one for linux-arm64, each built for its architecture', (ctx) => {
    if (blocker) ctx.skip(blocker);
    for (const arch of ['x64', 'arm64'] as const) {
      const entry = packed.find((f) => f.path.startsWith(`prebuilds/linux-${arch}/`));
      expect(entry, `prebuilds/linux-${arch}/ in the tarball`).toBeDefined();
      expect(entry!.path).toMatch(/\.glibc\.node$/);
      const file = readFileSync(join(work, 'src', entry!.path));
      expect(file.readUInt32BE(0)).toBe(0x7f454c46); // ELF
      expect(file.readUInt16LE(16)).toBe(3); // ET_DYN: a shared object
      expect(file.readUInt16LE(18)).toBe(EM[arch]);
      // Node 20 itself needs glibc 2.28; the prebuild must not ask for more.
      expect(glibcNeeded(file)).toBeLessThanOrEqual(28);
    }
    // The sources travel too, for the build from source where no prebuild fits.
    for (const f of ['binding.gyp', 'native/binding/addon.cc', 'scripts/build-native.mjs'])
      expect(packed.map((p) => p.path)).toContain(f);
  });
});

describe('the tarball installed where there is no compiler', () => {
  let app = '';

  // Where something blocks the packing, every test below skips with its reason.
  beforeAll(() => {
    if (!blocker) {
      app = join(work, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    }
  });

  it('has none of cc, g++, make, python3 on its PATH', (ctx) => {
    if (blocker) ctx.skip(blocker);
    for (const t of ['cc', 'gcc', 'g++', 'c++', 'make', 'python3', 'python'])
      expect(onPath(t, toolless), t).toBeUndefined();
  });

  it('installs with the prebuild, compiling nothing', (ctx) => {
    if (blocker) ctx.skip(blocker);
    const r = npm(
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball],
      app,
      toolless,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain(`using the prebuilt addon prebuilds/linux-${ARCH}/`);
    expect(existsSync(join(app, 'node_modules', 'mremap-probe', 'build'))).toBe(false);
  });

  it('runs the catalogue with the prebuild it picked for this machine', (ctx) => {
    if (blocker) ctx.skip(blocker);
    const info = probe(['info', '--json'], app, toolless);
    expect(info.status, info.stderr).toBe(0);
    const pkg = realpathSync(join(app, 'node_modules', 'mremap-probe'));
    expect((JSON.parse(info.stdout) as { addon: string }).addon).toBe(
      join(pkg, 'prebuilds', `linux-${ARCH}`, 'mremap-probe.glibc.node'),
    );
    const r = probe(
      ['run', '--filter', 'fixed/dst-whole/**', '--format', 'json', '--no-progress'],
      app,
      toolless,
    );
    // 0 nothing failed, 1 this kernel failed a case: either way the probe ran.
    expect([0, 1], r.stderr).toContain(r.status);
    const report = JSON.parse(r.stdout) as { cases: { id: string; verdict: string }[] };
    expect(report.cases.length).toBeGreaterThan(5);
    expect(report.cases.every((c) => c.id.startsWith('fixed/dst-whole/'))).toBe(true);
    expect(report.cases.filter((c) => c.verdict === 'broken')).toEqual([]);
  });

  it("gives a guest initramfs the prebuild of the guest's architecture", (ctx) => {
    if (blocker) ctx.skip(blocker);
    const pkg = realpathSync(join(app, 'node_modules', 'mremap-probe'));
    const script = `const m = await import(${JSON.stringify(join(pkg, 'dist', 'vm', 'initramfs.js'))});
console.log(JSON.stringify([m.guestAddon('x64'), m.guestAddon('arm64')]));`;
    const r = spawnSync(join(toolless, 'node'), ['--input-type=module', '-e', script], {
      cwd: app,
      encoding: 'utf8',
      env: { HOME: process.env.HOME, PATH: toolless },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      join(pkg, 'prebuilds', 'linux-x64', 'mremap-probe.glibc.node'),
      join(pkg, 'prebuilds', 'linux-arm64', 'mremap-probe.glibc.node'),
    ]);
  });

  it('without a prebuild for this machine, cannot build there, and says where it looked', (ctx) => {
    if (blocker) ctx.skip(blocker);
    const pkg = join(app, 'node_modules', 'mremap-probe');
    rmSync(join(pkg, 'prebuilds', `linux-${ARCH}`), { recursive: true, force: true });
    const r = npm(['rebuild', '--foreground-scripts', 'mremap-probe'], app, toolless);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(
      `no prebuilt addon for linux-${ARCH}; building from source`,
    );
    const info = probe(['info'], app, toolless);
    expect(info.status).toBe(1);
    expect(info.stderr).toMatch(/no prebuilt one fits linux-/);
    expect(info.stderr).toContain(join('prebuilds', `linux-${ARCH}`));
    expect(info.stderr).toContain(join('build', 'Release', 'mremap_probe.node'));
    expect(info.stderr).not.toMatch(/\n\s+at /);
  });

  it('with a compiler, builds it from source and runs', (ctx) => {
    if (blocker) ctx.skip(blocker);
    const path = [toolless, process.env.PATH].join(delimiter);
    const r = npm(['rebuild', '--foreground-scripts', 'mremap-probe'], app, path, 600_000);
    expect(r.status, r.stderr).toBe(0);
    const pkg = realpathSync(join(app, 'node_modules', 'mremap-probe'));
    expect(readdirSync(join(pkg, 'build', 'Release'))).toContain('mremap_probe.node');
    const info = probe(['info', '--json'], app, toolless);
    expect((JSON.parse(info.stdout) as { addon: string }).addon).toBe(
      join(pkg, 'build', 'Release', 'mremap_probe.node'),
    );
    const run = probe(
      ['run', '--filter', 'fixed/dst-whole/**', '--format', 'json', '--no-progress'],
      app,
      toolless,
    );
    expect([0, 1], run.stderr).toContain(run.status);
    const report = JSON.parse(run.stdout) as { cases: { verdict: string }[] };
    expect(report.cases.filter((c) => c.verdict === 'broken')).toEqual([]);
  });
});

describe('the cross-compiled arm64 prebuild', () => {
  it("loads and makes its system calls under Debian's arm64 node in qemu-user", (ctx) => {
    if (blocker) ctx.skip(blocker);
    if (ARCH !== 'x64') ctx.skip('this checks the cross-compiled arm64 prebuild from x86-64');
    const qemu = onPath('qemu-aarch64');
    if (!qemu) ctx.skip('qemu-aarch64 is not installed (apt-get install qemu-user)');
    let rootfs = '';
    try {
      rootfs = debianUserland({ arch: 'arm64', packages: ['nodejs'] }).root;
    } catch (err) {
      ctx.skip(`Debian's arm64 nodejs could not be fetched here: ${(err as Error).message}`);
    }
    const src = join(work, 'src');
    const arm64 = (args: string[]) =>
      spawnSync(qemu!, ['-L', rootfs, join(rootfs, 'usr/bin/node'), ...args], {
        cwd: src,
        encoding: 'utf8',
        timeout: 300_000,
      });
    // The packed sources hold no build/: the loader must take prebuilds/linux-arm64/.
    const info = arm64([join(src, 'bin', 'mremap-probe.js'), 'info', '--json']);
    expect(info.status, info.stderr).toBe(0);
    const facts = JSON.parse(info.stdout) as { addon: string; kernel: { arch: string } };
    expect(facts.kernel.arch).toBe('aarch64');
    expect(facts.addon).toBe(join(src, 'prebuilds', 'linux-arm64', 'mremap-probe.glibc.node'));
    // A failing mremap comes back as an outcome with its errno name (the errno is
    // qemu's or the kernel's: a misaligned address is EINVAL for both), and the lab child forks and answers.
    const script = join(work, 'arm64-calls.mjs');
    writeFileSync(
      script,
      `const { native } = await import(${JSON.stringify(join(src, 'dist', 'index.js'))});
const a = native();
const p = a.mmap(0n, 4096, a.constants.PROT_READ | a.constants.PROT_WRITE,
  a.constants.MAP_PRIVATE | a.constants.MAP_ANONYMOUS, -1, 0);
const grow = a.mremap(p + 1n, 4096, 4096, 0, 0n, false); // misaligned: EINVAL
const lab = new a.Lab();
const ping = new Uint8Array(56);
new DataView(ping.buffer).setUint32(0, 1, true); // kPing
const r = lab.call(ping, 10000);
console.log(JSON.stringify({ arch: process.arch, grow, ping: r.status === 'ok' ? Number(r.results.readBigInt64LE(0)) : r.status, pid: lab.pid, closed: lab.close().status }));
`,
    );
    const calls = arm64([script]);
    expect(calls.status, calls.stderr).toBe(0);
    const out = JSON.parse(calls.stdout) as {
      arch: string;
      grow: { ok: boolean; code: string };
      ping: number;
      pid: number;
      closed: string;
    };
    expect(out.arch).toBe('arm64');
    expect(out.grow).toMatchObject({ ok: false, code: 'EINVAL' });
    expect(out.ping).toBe(out.pid);
    expect(out.closed).toBe('closed');
  });
});
