// The lab child: exact pressure, crashes, hangs, and the Node process left alone.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMaxMapCount } from '../../lib/kernel.js';
import { Lab, LabDiedError } from '../../lib/lab.js';
import { parseMaps } from '../../lib/maps.js';
import { native } from '../../lib/native.js';
import { PressureLab } from '../../lib/pressure.js';
import { isLinux } from '../helpers.js';

const M = isLinux ? readMaxMapCount() : 0;
const reachable = M > 0 && M <= 262_144;

describe.skipIf(!isLinux || !reachable)('pressure: exact map counts in the lab', () => {
  let pl: PressureLab;
  beforeAll(() => {
    pl = PressureLab.open(M);
  });
  afterAll(() => {
    pl?.close();
  });

  it.each([8, 5, 1, 0, -1])('reaches M-(%i) exactly, verified by counting the child maps', (k) => {
    const r = pl.reach(M - k, { verify: true });
    expect(r).toMatchObject({ target: M - k, mapCount: M - k, verified: true });
    expect(r.reason).toBeUndefined();
  });

  it('cannot go past M+1, and says why', () => {
    const r = pl.reach(M + 2, { verify: true });
    expect(r.verified).toBe(false);
    expect(r.mapCount).toBe(M + 1);
    expect(r.reason).toMatch(/map_count > vm.max_map_count/);
  });

  it('steps down and up by small amounts without refilling', () => {
    pl.reach(M - 5, { verify: true });
    const fillers = pl.lab.fillers;
    const down = pl.reach(M - 7);
    expect(pl.lab.fillers).toBe(fillers - 2);
    expect(down.mapCount).toBe(M - 7);
    expect(pl.count()).toBe(M - 7); // the tracking agrees with a full count
    pl.reach(M - 4);
    expect(pl.count()).toBe(M - 4);
  });

  it('lays regions out away from the fillers', () => {
    const { arena } = pl;
    expect(arena.regionBase).toBeGreaterThanOrEqual(
      arena.fillerBase + BigInt(arena.fillerSlots) * 8192n,
    );
    const q = pl.lab.query(arena.regionBase, arena.regionBase + arena.regionBytes);
    expect(q.vmas).toEqual([]);
  });
});

describe.skipIf(!isLinux)('the lab child', () => {
  it('answers, with its own pid', () => {
    const lab = Lab.open();
    expect(lab.ping()).toBe(lab.pid);
    expect(lab.pid).not.toBe(process.pid);
    expect(lab.close()).toEqual({ status: 'closed' });
  });

  it('a crash in the child is reported with its signal, and this process goes on', () => {
    const lab = Lab.open();
    let err: unknown;
    try {
      lab.crashForTest();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LabDiedError);
    expect((err as LabDiedError).end).toEqual({ status: 'signaled', signal: 11 });
    expect((err as Error).message).toMatch(/killed by signal 11 \(SIGSEGV\)/);
    expect(lab.alive).toBe(false);
    expect(() => lab.ping()).toThrow(LabDiedError);
    expect(lab.close()).toEqual({ status: 'signaled', signal: 11 });
  });

  it('a hung child is killed at its timeout', () => {
    const lab = Lab.open({ timeoutMs: 300 });
    const t0 = Date.now();
    expect(() => lab.hangForTest()).toThrow(/did not answer in time/);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(lab.end).toEqual({ status: 'timeout' });
    lab.close();
  });

  it('leaves no zombie and no descriptor behind', () => {
    const before = countFds();
    for (let i = 0; i < 5; i++) {
      const lab = Lab.open();
      const pid = lab.pid;
      lab.close();
      // Reaped: no /proc entry left for the child.
      expect(() => process.kill(pid, 0)).toThrow();
    }
    expect(countFds()).toBe(before);
  });

  it('a lab leaves no mapping behind in the Node process when it closes', () => {
    // V8's threads map and unmap private memory at any time; shared mappings
    // are the lab's alone (its region shared with the child), so they are
    // what is counted.
    const buf = new Uint8Array(1 << 20);
    const shared = () => {
      const n = native().readMaps(0, buf);
      return parseMaps(Buffer.from(buf.buffer, 0, n).toString()).filter((e) =>
        e.perms.endsWith('s'),
      ).length;
    };
    const before = shared();
    const lab = Lab.open();
    lab.ping();
    expect(shared()).toBe(before + 1);
    lab.close();
    expect(shared()).toBe(before);
  });

  it('stamps pages and reads them back: intact, zero, changed, unmapped', () => {
    const lab = Lab.open();
    const c = native().constants;
    const P = BigInt(lab.pageSize);
    const a = lab.mmap(0n, 4n * P, c.PROT_READ | c.PROT_WRITE, c.MAP_PRIVATE | c.MAP_ANONYMOUS);
    expect(a.ok).toBe(true);
    const base = (a as { value: bigint }).value;
    const nonce = 0x1234_5678_9abc_def0n;
    expect(lab.stamp(base, 2, 7, 0, nonce).ok).toBe(true);
    lab.munmap(base + 3n * P, P);
    const pages = lab.check(base, 4, nonce);
    expect(pages).toEqual([
      { kind: 'stamp', object: 7, page: 0 },
      { kind: 'stamp', object: 7, page: 1 },
      { kind: 'zero' },
      { kind: 'unmapped' },
    ]);
    // Another nonce: the bytes are not this run's stamp.
    expect(lab.check(base, 1, nonce + 1n)).toEqual([{ kind: 'other' }]);
    const q = lab.query(base, base + 4n * P);
    expect(q.vmas).toHaveLength(1);
    expect(q.vmas[0]).toMatchObject({ start: base, end: base + 3n * P, perms: 'rw-p' });
    const text = lab.query(base, base + 4n * P, { text: true });
    expect(text.method).toBe('text');
    expect(text.vmas.map(({ name: _n, ...v }) => v)).toEqual(q.vmas.map(({ name: _n, ...v }) => v));
    lab.close();
  });
});

function countFds(): number {
  return readdirSync('/proc/self/fd').length;
}
