// The lab's wire protocol as the addon exports it, and the named builders.
import { describe, expect, it } from 'vitest';
import { Lab } from '../../lib/lab.js';
import { decodeVmas, encodeBatch, op, OP_NAMES, protocol } from '../../lib/protocol.js';
import { isLinux } from '../helpers.js';

describe.skipIf(!isLinux)('the lab protocol', () => {
  it('names every operation the addon exports, and no other', () => {
    expect(Object.keys(protocol().ops).sort()).toEqual([...OP_NAMES].sort());
    expect(new Set(Object.values(protocol().ops)).size).toBe(OP_NAMES.length);
  });

  it('encodes a batch as the child reads it: code, flags, arguments', () => {
    const p = protocol();
    const b = encodeBatch([op.munmap({ addr: 0x1000n, length: 4096, stop: true }), op.ping()]);
    expect(b.length).toBe(2 * p.opRec.size);
    expect(b.readUInt32LE(p.opRec.op)).toBe(p.ops.munmap);
    expect(b.readUInt32LE(p.opRec.flags)).toBe(p.opFlags.stopOnError);
    expect(b.readBigUInt64LE(p.opRec.args)).toBe(0x1000n);
    expect(b.readBigUInt64LE(p.opRec.args + 8)).toBe(4096n);
    expect(b.readUInt32LE(p.opRec.size + p.opRec.op)).toBe(p.ops.ping);
    expect(() =>
      encodeBatch([{ op: 'ping', args: [1n, 2n, 3n, 4n, 5n, 6n, 7n], stopOnError: false }]),
    ).toThrow(RangeError);
  });

  it('a batch stops at a failing operation marked stop, and goes on past others', () => {
    const lab = Lab.open();
    try {
      const bad = op.munmap({ addr: 1n, length: 4096 }); // unaligned: EINVAL
      const r = lab.exec([
        bad,
        op.ping(),
        op.munmap({ addr: 1n, length: 4096, stop: true }),
        op.ping(),
      ]);
      expect(r.map((x) => x.op)).toEqual(['munmap', 'ping', 'munmap']);
      expect(r[0]!.ret).toBe(-22n);
      expect(r[1]!.ret).toBe(BigInt(lab.pid));
    } finally {
      lab.close();
    }
  });

  it('decodes the VMAs a query finds, and the page words of a check', () => {
    const lab = Lab.open();
    try {
      const P = BigInt(lab.pageSize);
      const a = lab.mmap(0n, 2n * P, 3, 0x22);
      expect(a.ok).toBe(true);
      const base = (a as { value: bigint }).value;
      const [q, c] = lab
        .exec([
          op.stamp({ addr: base, pages: 1, object: 9, nonce: 77n }),
          op.query({ start: base, end: base + 2n * P }),
          op.check({ addr: base, pages: 2, nonce: 77n }),
        ])
        .slice(1);
      expect(decodeVmas(q!.data)).toMatchObject([
        { start: base, end: base + 2n * P, perms: 'rw-p' },
      ]);
      expect(lab.check(base, 2, 77n)).toEqual([
        { kind: 'stamp', object: 9, page: 0 },
        { kind: 'zero' },
      ]);
      expect(c!.data.length).toBe(16);
    } finally {
      lab.close();
    }
  });
});
