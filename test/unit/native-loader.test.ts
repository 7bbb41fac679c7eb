// Which addon file the loader picks: node-gyp's build first, then the prebuild
// that fits (by node-gyp-build's rules), then cmake-js's build. The files here
// are empty stand-ins: the choice is made by name, loading is for the
// integration tests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addonCandidates, prebuildFor } from '../../lib/native.js';
import { guestAddon } from '../../lib/vm/initramfs.js';

let pkg = '';
const touch = (rel: string) => {
  mkdirSync(join(pkg, rel, '..'), { recursive: true });
  writeFileSync(join(pkg, rel), '');
};

beforeAll(() => {
  pkg = mkdtempSync(join(tmpdir(), 'mremap-probe-loader-'));
  writeFileSync(join(pkg, 'package.json'), '{ "name": "mremap-probe" }\n');
  for (const arch of ['x64', 'arm64']) {
    touch(`prebuilds/linux-${arch}/mremap-probe.glibc.node`);
    // Builds that must never be picked on a glibc system with this Node.
    touch(`prebuilds/linux-${arch}/mremap-probe.musl.node`);
    touch(`prebuilds/linux-${arch}/mremap-probe.abi1.glibc.node`);
    touch(`prebuilds/linux-${arch}/README`);
  }
});

afterAll(() => rmSync(pkg, { recursive: true, force: true }));

describe('prebuildFor', () => {
  it('picks the N-API, glibc build of the asked architecture', () => {
    expect(prebuildFor('x64', pkg)).toBe(join(pkg, 'prebuilds/linux-x64/mremap-probe.glibc.node'));
    expect(prebuildFor('arm64', pkg)).toBe(
      join(pkg, 'prebuilds/linux-arm64/mremap-probe.glibc.node'),
    );
  });

  it('finds none for an architecture without prebuilds', () => {
    expect(prebuildFor('riscv64', pkg)).toBeUndefined();
  });
});

describe('addonCandidates', () => {
  it('for this machine: the source build, the fitting prebuild, the cmake-js build, in that order', () => {
    const list = addonCandidates({ root: pkg, env: false });
    expect(list).toEqual([
      join(pkg, 'build/Release/mremap_probe.node'),
      prebuildFor(process.arch, pkg) ?? join(pkg, `prebuilds/linux-${process.arch}`),
      join(pkg, 'build-cmake/Release/mremap_probe.node'),
    ]);
  });

  it("for another architecture: only that architecture's prebuild, or its directory", () => {
    const other = process.arch === 'arm64' ? 'x64' : 'arm64';
    expect(addonCandidates({ root: pkg, arch: other, env: false })).toEqual([
      join(pkg, `prebuilds/linux-${other}/mremap-probe.glibc.node`),
    ]);
    expect(addonCandidates({ root: pkg, arch: 'riscv64', env: false })).toEqual([
      join(pkg, 'prebuilds/linux-riscv64'),
    ]);
  });

  it('$MREMAP_PROBE_ADDON alone when set', () => {
    const saved = process.env.MREMAP_PROBE_ADDON;
    process.env.MREMAP_PROBE_ADDON = '/somewhere/asan.node';
    try {
      expect(addonCandidates({ root: pkg })).toEqual(['/somewhere/asan.node']);
      expect(addonCandidates({ root: pkg, env: false })).toHaveLength(3);
    } finally {
      if (saved === undefined) delete process.env.MREMAP_PROBE_ADDON;
      else process.env.MREMAP_PROBE_ADDON = saved;
    }
  });
});

describe('guestAddon', () => {
  it('names what to run when the prebuild for a guest architecture is missing', () => {
    expect(() => guestAddon('riscv64')).toThrow(
      /no prebuilt addon for linux-riscv64.*build:prebuilds/,
    );
  });
});
