import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  gateVmaName,
  isGateVma,
  mapCount,
  parseMaps,
  parseMapsLine,
  summarize,
} from '../../lib/maps.js';

// The captures are from x86-64, whose gate VMA is [vsyscall], whatever machine runs the test.
const X86_64_GATE = gateVmaName('x64');
import { fixture } from '../helpers.js';

describe('maps parser on real captures', () => {
  it('parses a node 20 process: every line, the gate VMA last and not counted', () => {
    const text = fixture('node20.maps');
    const entries = parseMaps(text);
    expect(entries).toHaveLength(text.trimEnd().split('\n').length);
    const last = entries.at(-1)!;
    expect(last.name).toBe('[vsyscall]');
    expect(isGateVma(entries, entries.length - 1, X86_64_GATE)).toBe(true);
    expect(mapCount(entries, X86_64_GATE)).toBe(entries.length - 1);
    expect(entries.some((e) => e.name === '[vdso]')).toBe(true);
    expect(entries.some((e) => e.name === '[heap]')).toBe(true);
    // Sorted, non-overlapping ranges, as the kernel prints them.
    for (let i = 1; i < entries.length; i++) {
      expect(entries[i]!.start >= entries[i - 1]!.end).toBe(true);
    }
  });

  it('decodes names with spaces, \\012 newlines, " (deleted)" and memfd', () => {
    const entries = parseMaps(fixture('python-odd-names.maps'));
    const spaces = entries.find((e) => e.path.endsWith('file with spaces.bin'))!;
    expect(spaces.path).toBe('/tmp/fixture dir/file with spaces.bin');
    expect(spaces.perms).toBe('r--s');
    expect(spaces.shared).toBe(true);
    expect(spaces.end - spaces.start).toBe(8192n);

    const newline = entries.find((e) => e.name.includes('\\012'))!;
    expect(newline.path).toBe('/tmp/fixture dir/line\nbreak.bin');
    expect(newline.deleted).toBe(false);

    const deleted = entries.find((e) => e.path.endsWith('to be deleted.bin'))!;
    expect(deleted.deleted).toBe(true);
    expect(deleted.name.endsWith(' (deleted)')).toBe(true);
    expect(deleted.perms).toBe('rw-p');

    const memfd = entries.find((e) => e.path.startsWith('/memfd:'))!;
    expect(memfd.path).toBe('/memfd:probe region');
    expect(memfd.deleted).toBe(true);
    expect(memfd.shared).toBe(true);

    const shmem = entries.find((e) => e.path === '/dev/zero')!;
    expect(shmem.deleted).toBe(true);
    expect(shmem.inode).toBeGreaterThan(0n);
  });

  it('counts a capture from a small C program the same way', () => {
    const entries = parseMaps(fixture('cat.maps'));
    const s = summarize(entries, X86_64_GATE);
    expect(s.gateVma).toBe(true);
    expect(s.mapCount).toBe(entries.length - 1);
    expect(s.anonymous + s.fileBacked + s.pseudo).toBe(s.mapCount);
  });

  it('counts every line when there is no gate VMA (arm64, vsyscall=none)', () => {
    const entries = parseMaps(fixture('node20.maps')).slice(0, -1);
    expect(mapCount(entries, X86_64_GATE)).toBe(entries.length);
    expect(summarize(entries, X86_64_GATE).gateVma).toBe(false);
  });

  it('counts a [vsyscall] line on an architecture without a gate VMA', () => {
    const entries = parseMaps(fixture('node20.maps'));
    expect(mapCount(entries, gateVmaName('arm64'))).toBe(entries.length);
  });

  it('names the gate VMA per architecture', () => {
    expect(gateVmaName('x64', 'x86_64')).toBe('[vsyscall]');
    expect(gateVmaName('arm64', 'aarch64')).toBeNull();
    expect(gateVmaName('arm', 'armv7l')).toBe('[vectors]');
    // A 32-bit process on an arm64 kernel: [vectors] is an ordinary, counted mapping there.
    expect(gateVmaName('arm', 'armv8l')).toBeNull();
  });

  it('rejects lines that are not maps lines, saying which', () => {
    expect(() => parseMaps('00400000-00452000 r-xp 00000000 08:02 173521 /bin/x\nhello\n')).toThrow(
      /line 2/,
    );
    expect(() => parseMapsLine('2000-1000 rw-p 00000000 00:00 0')).toThrow(/end below start/);
  });
});

// The kernel's own formatting (show_vma_header_prefix + seq_pad): hex fields
// zero-padded to 8, dev as %02x:%02x, then the name padded to column 73.
function formatLine(f: {
  start: bigint;
  len: bigint;
  perms: string;
  offset: bigint;
  major: number;
  minor: number;
  inode: bigint;
  name: string;
}): string {
  const h = (v: bigint) => v.toString(16).padStart(8, '0');
  const head = `${h(f.start)}-${h(f.start + f.len)} ${f.perms} ${h(f.offset)} ${f.major
    .toString(16)
    .padStart(2, '0')}:${f.minor.toString(16).padStart(2, '0')} ${f.inode} `;
  return f.name === '' ? head : head.padEnd(73, ' ') + f.name;
}

describe('maps parser on generated odd lines (property)', () => {
  const perms = fc
    .tuple(
      fc.constantFrom('r', '-'),
      fc.constantFrom('w', '-'),
      fc.constantFrom('x', '-'),
      fc.constantFrom('p', 's'),
    )
    .map((t) => t.join(''));
  const nameChars = fc.constantFrom(...'abc XYZ_-.()[]:/0189 \n'.split(''));
  const rawName = fc.array(nameChars, { maxLength: 40 }).map((a) => a.join(''));
  const entry = fc.record({
    start: fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }).map((v) => v & ~0xfffn),
    len: fc.bigInt({ min: 1n, max: 1n << 30n }).map((v) => v << 12n),
    perms,
    offset: fc.bigInt({ min: 0n, max: (1n << 44n) - 1n }),
    major: fc.integer({ min: 0, max: 0xfff }),
    minor: fc.integer({ min: 0, max: 0xfffff }),
    inode: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    rawName,
    deleted: fc.boolean(),
  });

  it('round-trips every field the kernel prints', () => {
    fc.assert(
      fc.property(entry, (e) => {
        // seq_path escapes '\n' as \012; names never start with a space in practice.
        const raw = e.rawName.replace(/^ +/, '');
        const escaped = raw.replaceAll('\n', '\\012');
        const name = raw === '' ? '' : escaped + (e.deleted ? ' (deleted)' : '');
        const line = formatLine({ ...e, name });
        const p = parseMapsLine(line);
        expect(p.start).toBe(e.start);
        expect(p.end).toBe(e.start + e.len);
        expect(p.perms).toBe(e.perms);
        expect(p.shared).toBe(e.perms.endsWith('s'));
        expect(p.offset).toBe(e.offset);
        expect(p.devMajor).toBe(e.major);
        expect(p.devMinor).toBe(e.minor);
        expect(p.inode).toBe(e.inode);
        expect(p.name).toBe(name);
        if (raw !== '') {
          expect(p.deleted).toBe(e.deleted);
          expect(p.path).toBe(raw);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('counts n VMAs plus a gate line as n', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 0, maxLength: 30 }), fc.boolean(), (es, gate) => {
        const lines = es.map((e) => formatLine({ ...e, name: '' }));
        if (gate)
          lines.push(
            formatLine({
              start: 0xffffffffff600000n,
              len: 4096n,
              perms: '--xp',
              offset: 0n,
              major: 0,
              minor: 0,
              inode: 0n,
              name: '[vsyscall]',
            }),
          );
        const parsed = parseMaps(lines.join('\n') + (lines.length ? '\n' : ''));
        expect(parsed).toHaveLength(lines.length);
        expect(mapCount(parsed, X86_64_GATE)).toBe(es.length);
      }),
    );
  });
});
