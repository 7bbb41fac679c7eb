// The addon's real system calls, made in this test process.
import { describe, expect, it } from 'vitest';
import { parseMaps, mapCount } from '../../lib/maps.js';
import { native } from '../../lib/native.js';
import {
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  constants,
  mincore,
  mmap,
  mprotect,
  mremap,
  munmap,
  pageSize,
  readMemory,
  tryMremap,
  tryMunmap,
  writeMemory,
} from '../../lib/sys.js';
import { isLinux } from '../helpers.js';

const P = BigInt(isLinux ? pageSize() : 4096);
const anon = () => constants().MAP_PRIVATE | constants().MAP_ANONYMOUS;

describe.skipIf(!isLinux)('syscalls through the addon', () => {
  it('mprotect of the middle page of a 3-page mapping raises mapCount by exactly 2', () => {
    // V8's threads map and unmap at any time, so the whole process's count is
    // only a snapshot. The mapping sits between two PROT_NONE guard pages of a
    // reservation of our own, where nothing else maps and nothing merges: the
    // VMAs inside it are exactly what the mprotect changes.
    const r = mmap(0n, 5n * P, PROT_NONE, anon());
    try {
      const a = mmap(r + P, 3n * P, PROT_READ | PROT_WRITE, anon() | constants().MAP_FIXED);
      expect(a).toBe(r + P);
      const buf = new Uint8Array(1 << 20);
      const inside = () => {
        const n = native().readMaps(0, buf);
        const all = parseMaps(Buffer.from(buf.buffer, 0, n).toString());
        return all.filter((e) => e.end > r && e.start < r + 5n * P);
      };
      const before = inside();
      expect(before.map((e) => e.perms)).toEqual(['---p', 'rw-p', '---p']);
      mprotect(a + P, P, PROT_READ);
      const after = inside();
      expect(after.map((e) => e.perms)).toEqual(['---p', 'rw-p', 'r--p', 'rw-p', '---p']);
      expect([after[2]!.start, after[2]!.end]).toEqual([a + P, a + 2n * P]);
      expect(mapCount(after) - mapCount(before)).toBe(2);
    } finally {
      munmap(r, 5n * P);
    }
  });

  it('mremap with MREMAP_FIXED moves the page bytes to the destination', () => {
    const src = mmap(0n, P, PROT_READ | PROT_WRITE, anon());
    const dst = mmap(0n, 2n * P, PROT_NONE, anon());
    const bytes = Buffer.alloc(Number(P));
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) & 0xff;
    writeMemory(src, bytes);
    const got = mremap(src, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, dst + P);
    expect(got).toBe(dst + P);
    expect(readMemory(dst + P, Number(P)).equals(bytes)).toBe(true);
    // The old page is gone.
    expect(() => readMemory(src, 1)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    munmap(dst, 2n * P);
  });

  it('MREMAP_DONTUNMAP leaves the old range mapped and empty', () => {
    const src = mmap(0n, P, PROT_READ | PROT_WRITE, anon());
    writeMemory(src, Buffer.from('stamp'));
    const dst = mremap(src, P, P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    expect(readMemory(dst, 5).toString()).toBe('stamp');
    expect(readMemory(src, 5)).toEqual(Buffer.alloc(5));
    munmap(src, P);
    munmap(dst, P);
  });

  it('an unaligned address is EINVAL with code, negative errno and syscall', () => {
    const a = mmap(0n, P, PROT_READ, anon());
    let thrown: unknown;
    try {
      mremap(a + 1n, P, P, 0);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({
      code: 'EINVAL',
      errno: -22,
      syscall: 'mremap',
      message: 'EINVAL: Invalid argument, mremap',
    });
    expect(tryMremap(a + 1n, P, P, 0)).toEqual({
      ok: false,
      code: 'EINVAL',
      errno: -22,
      syscall: 'mremap',
    });
    munmap(a, P);
  });

  it('growing where nothing is mapped is EFAULT', () => {
    const a = mmap(0n, 2n * P, PROT_READ, anon());
    munmap(a, 2n * P);
    expect(tryMremap(a, P, 2n * P, 0)).toMatchObject({ ok: false, code: 'EFAULT', errno: -14 });
    expect(() => mremap(a, P, 2n * P, 0)).toThrow('EFAULT: Bad address, mremap');
  });

  it('growing in place against a neighbour is ENOMEM', () => {
    const a = mmap(0n, 2n * P, PROT_READ | PROT_WRITE, anon());
    mprotect(a + P, P, PROT_READ); // a different VMA right behind the first page
    expect(tryMremap(a, P, 2n * P, 0)).toEqual({
      ok: false,
      code: 'ENOMEM',
      errno: -12,
      syscall: 'mremap',
    });
    let thrown: unknown;
    try {
      mremap(a, P, 2n * P, 0);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'ENOMEM', errno: -12, syscall: 'mremap' });
    expect((thrown as Error).message).toBe('ENOMEM: Cannot allocate memory, mremap');
    munmap(a, 2n * P);
  });

  it('mincore says which pages are resident', () => {
    const a = mmap(0n, 2n * P, PROT_READ | PROT_WRITE, anon());
    writeMemory(a, Buffer.from([1]));
    const v = mincore(a, 2n * P);
    expect(v[0]! & 1).toBe(1);
    expect(v[1]! & 1).toBe(0);
    munmap(a, 2n * P);
  });

  it('returns the outcome of a success too', () => {
    const a = mmap(0n, P, PROT_READ, anon());
    expect(tryMunmap(a, P)).toEqual({ ok: true, value: 0n });
  });
});

describe.skipIf(!isLinux)('bad input is refused before any syscall', () => {
  it('a Number address is a TypeError', () => {
    expect(() => mremap(4096 as unknown as bigint, 4096, 4096, 0)).toThrow(TypeError);
    expect(() => mmap(0 as unknown as bigint, 4096, PROT_READ, anon())).toThrow(/BigInt/);
  });

  it('a negative length is a RangeError', () => {
    expect(() => mremap(0x10000n, -1, 4096, 0)).toThrow(RangeError);
    expect(() => munmap(0x10000n, -4096n)).toThrow(/negative/);
  });

  it('unknown flags are a RangeError', () => {
    expect(() => mremap(0x10000n, 4096, 4096, 0x40)).toThrow(RangeError);
    expect(() => mprotect(0x10000n, 4096, 0x100)).toThrow(/unknown bits/);
  });

  it('a negative BigInt address is a RangeError', () => {
    expect(() => munmap(-4096n, 4096)).toThrow(RangeError);
  });
});
