// Guest architectures: --arch names, Debian kernel specs and flavours, kernel
// image headers, and the ELF reading that copies a node and its libraries out
// of a Debian root.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../lib/cli/common.js';
import { parseArch } from '../../lib/cli/guest-options.js';
import { debianColumns } from '../../lib/cli/matrix.js';
import { ARCHES, imageArch, imagePageSize } from '../../lib/vm/arch.js';
import { closure, readElf, resolveInRoot } from '../../lib/vm/elf.js';
import { kernelFileArch } from '../../lib/vm/guest.js';
import {
  imagePackageRe,
  KernelSpecError,
  listKernels,
  parseDebianSpec,
} from '../../lib/vm/kernels.js';
import { isLinux } from '../helpers.js';

describe('--arch', () => {
  it('takes each architecture by any of its names', () => {
    for (const n of ['x86_64', 'x86-64', 'x64', 'amd64', 'AMD64'])
      expect(parseArch(n)).toBe('x86_64');
    for (const n of ['arm64', 'aarch64']) expect(parseArch(n)).toBe('arm64');
  });

  it('refuses any other as a usage error naming the ones there are', () => {
    expect(() => parseArch('riscv64')).toThrow(UsageError);
    expect(() => parseArch('riscv64')).toThrow(/x86_64 or arm64/);
  });
});

describe('Debian kernel specs', () => {
  it('default to the cloud flavour of the architecture', () => {
    expect(parseDebianSpec('6.12', 'x86_64').flavour).toBe('cloud-amd64');
    expect(parseDebianSpec('sid', 'arm64').flavour).toBe('cloud-arm64');
    expect(parseDebianSpec('6.12:16k', 'arm64')).toMatchObject({
      release: '6.12',
      flavour: 'arm64-16k',
    });
  });

  it('refuse a flavour the architecture does not have, saying which has it', () => {
    expect(() => parseDebianSpec('6.12:16k', 'x86_64')).toThrow(KernelSpecError);
    expect(() => parseDebianSpec('6.12:16k', 'x86_64')).toThrow(/16k is a flavour of arm64/);
    expect(() => parseDebianSpec('6.12:64k', 'arm64')).toThrow(/cloud or 16k/);
    expect(() => parseDebianSpec('6.12:16k:x', 'arm64')).toThrow(/SERIES or SUITE/);
  });

  // Names as Debian's arm64 and amd64 indexes list them.
  const names = [
    'linux-image-5.10.0-32-cloud-arm64',
    'linux-image-5.10.0-32-arm64',
    'linux-image-5.10.0-32-cloud-arm64-unsigned',
    'linux-image-6.12.117+deb13-arm64-16k',
    'linux-image-6.12.117+deb13-arm64-16k-unsigned',
    'linux-image-6.12.117+deb13-cloud-arm64',
    'linux-image-6.12.117+deb13-rt-arm64',
    'linux-image-6.12.90+deb12.1-arm64-16k',
    'linux-image-7.3-arm64-16k',
    'linux-image-7.3-cloud-arm64',
    'linux-image-6.12.117+deb13-cloud-amd64',
    'linux-image-cloud-arm64',
    'linux-image-arm64-16k',
  ];

  it('pick the image packages of exactly one flavour', () => {
    const of = (f: string) => names.filter((n) => imagePackageRe(f).test(n));
    expect(of('cloud-arm64')).toEqual([
      'linux-image-5.10.0-32-cloud-arm64',
      'linux-image-6.12.117+deb13-cloud-arm64',
      'linux-image-7.3-cloud-arm64',
    ]);
    expect(of('arm64-16k')).toEqual([
      'linux-image-6.12.117+deb13-arm64-16k',
      'linux-image-6.12.90+deb12.1-arm64-16k',
      'linux-image-7.3-arm64-16k',
    ]);
    // The generic flavour's name ends like the cloud one's: the version must come right before it.
    expect(of('arm64')).toEqual(['linux-image-5.10.0-32-arm64']);
    expect(of('cloud-amd64')).toEqual(['linux-image-6.12.117+deb13-cloud-amd64']);
  });

  it('cross the architectures in a matrix, a flavour only where it exists', () => {
    expect(debianColumns(['6.12', 'sid', '6.12:16k'], ['x86_64', 'arm64'])).toEqual([
      { debian: '6.12', arch: 'x86_64' },
      { debian: '6.12', arch: 'arm64' },
      { debian: 'sid', arch: 'x86_64' },
      { debian: 'sid', arch: 'arm64' },
      { debian: '6.12:16k', arch: 'arm64' },
    ]);
    expect(() => debianColumns(['6.12:16k'], ['x86_64'])).toThrow(KernelSpecError);
  });
});

describe('kernel images', () => {
  const cached = isLinux ? listKernels() : [];

  it('a file that is no kernel has no architecture, and boots as x86_64 unless asked', () => {
    expect(imageArch(Buffer.from('not a kernel\n'))).toBeUndefined();
    expect(kernelFileArch('/etc/hostname')).toBe('x86_64');
    expect(kernelFileArch('/etc/hostname', 'arm64')).toBe('arm64');
  });

  it('Debian kernels fetched here say their architecture and page size in their headers', (ctx) => {
    const arm = cached.filter((k) => k.arch === 'arm64');
    const x86 = cached.filter((k) => !k.built && (k.arch ?? 'x86_64') === 'x86_64');
    if (!arm.length || !x86.length)
      ctx.skip('needs an x86_64 and an arm64 Debian kernel in the cache (kernels fetch)');
    for (const k of arm) {
      expect(kernelFileArch(k.vmlinuz)).toBe('arm64');
      expect(() => kernelFileArch(k.vmlinuz, 'x86_64')).toThrow(/is an arm64 image, not x86_64/);
    }
    for (const k of x86) expect(kernelFileArch(k.vmlinuz)).toBe('x86_64');
    const sixteen = arm.find((k) => k.flavour === 'arm64-16k');
    if (sixteen) {
      expect(imagePageSize(readFileSync(sixteen.vmlinuz).subarray(0, 64))).toBe(16384);
    }
  });
});

describe.skipIf(!isLinux)('ELF files of a root', () => {
  it("reads this node's machine, loader and libraries", () => {
    const node = realpathSync(process.execPath);
    const e = readElf(node);
    const own = process.arch === 'arm64' ? ARCHES.arm64 : ARCHES.x86_64;
    expect(e.machine).toBe(own.elfMachine);
    expect(e.interp).toMatch(/^\/lib.*\/ld-linux/);
    const files = closure('/', node, own.triplet).map((f) => f.path);
    expect(files[0]).toBe(node);
    expect(files).toContain(e.interp);
    expect(files.some((f) => /\/libc\.so\.6$/.test(f))).toBe(true);
  });

  it('follows absolute symbolic links inside the root, not on this machine', () => {
    const root = mkdtempSync(join(tmpdir(), 'mp-root-'));
    mkdirSync(join(root, 'usr', 'lib', 'x'), { recursive: true });
    symlinkSync('usr/lib', join(root, 'lib'));
    symlinkSync('/lib/x/real', join(root, 'usr', 'lib', 'x', 'link'));
    symlinkSync('../../bin/sh', join(root, 'usr', 'lib', 'x', 'rel'));
    writeFileSync(join(root, 'usr', 'lib', 'x', 'real'), 'x');
    expect(resolveInRoot(root, '/lib/x/link')).toBe('/usr/lib/x/real');
    // /bin/sh exists on this machine, not in the root.
    expect(existsSync('/bin/sh')).toBe(true);
    expect(resolveInRoot(root, '/usr/lib/x/rel')).toBeUndefined();
  });
});
