// The lab's wire protocol, typed once. The op codes, record sizes, field
// offsets, flags and page classes come from the addon (native/sys/lab_proto.h
// and stamp.h through Protocol() in native/binding/addon.cc); this file holds
// only their TypeScript names, the named builders of operations, and the
// encoding and decoding of batches.
import { native, type NativeProtocol } from './native.js';

/** Every operation the lab child runs, by the name lab_proto.h gives it. */
export const OP_NAMES = [
  'ping',
  'mmap',
  'munmap',
  'mprotect',
  'mremap',
  'madvise',
  'mlock',
  'munlock',
  'getrlimit',
  'setrlimit',
  'stamp',
  'check',
  'fillerSetup',
  'fill',
  'count',
  'query',
  'findFree',
  'memfd',
  'close',
  'procField',
  'effectiveCaps',
  'crash',
  'hang',
  'exit',
] as const;
export type OpName = (typeof OP_NAMES)[number];

let checked: NativeProtocol | undefined;

/** The addon's protocol table, checked once against the names above. */
export function protocol(): NativeProtocol {
  if (checked) return checked;
  const p = native().protocol;
  const theirs = Object.keys(p.ops).sort();
  const ours = [...OP_NAMES].sort();
  if (theirs.join() !== ours.join()) {
    throw new Error(
      `the addon's lab operations (${theirs.join(', ')}) are not the ones lib/protocol.ts names (${ours.join(', ')}): rebuild the addon`,
    );
  }
  checked = p;
  return p;
}

/** One operation of a batch. Made by the builders in `op`, never by hand. */
export interface LabOp {
  readonly op: OpName;
  readonly args: readonly bigint[];
  /** A negative result ends the batch at this operation. */
  readonly stopOnError: boolean;
}

export interface LabResult {
  op: OpName;
  /** The value, or -errno. */
  ret: bigint;
  v: [bigint, bigint, bigint];
  data: Buffer;
}

type Num = bigint | number;
interface Stop {
  /** End the batch here when this operation fails. */
  stop?: boolean;
}

function make(name: OpName, args: readonly Num[], o: Stop = {}): LabOp {
  return { op: name, args: args.map((a) => BigInt(a)), stopOnError: o.stop === true };
}

/** A /proc field name packed into two operation arguments (16 bytes, NUL padded). */
export function packName(name: string): [bigint, bigint] {
  const b = Buffer.alloc(16);
  b.write(name, 'latin1');
  return [b.readBigUInt64LE(0), b.readBigUInt64LE(8)];
}

export type ProcFile = 'meminfo' | 'status';

/** The named builders of lab operations. */
export const op = {
  ping: () => make('ping', []),
  mmap: (
    a: { addr: Num; length: Num; prot: number; flags: number; fd?: number; offset?: Num } & Stop,
  ) => make('mmap', [a.addr, a.length, a.prot, a.flags, a.fd ?? -1, a.offset ?? 0], a),
  munmap: (a: { addr: Num; length: Num } & Stop) => make('munmap', [a.addr, a.length], a),
  mprotect: (a: { addr: Num; length: Num; prot: number } & Stop) =>
    make('mprotect', [a.addr, a.length, a.prot], a),
  mremap: (a: { old: Num; oldLength: Num; newLength: Num; flags: number; newAddr?: Num } & Stop) =>
    make('mremap', [a.old, a.oldLength, a.newLength, a.flags, a.newAddr ?? 0], a),
  madvise: (a: { addr: Num; length: Num; advice: number } & Stop) =>
    make('madvise', [a.addr, a.length, a.advice], a),
  mlock: (a: { addr: Num; length: Num } & Stop) => make('mlock', [a.addr, a.length], a),
  munlock: (a: { addr: Num; length: Num } & Stop) => make('munlock', [a.addr, a.length], a),
  getrlimit: (a: { resource: number } & Stop) => make('getrlimit', [a.resource], a),
  setrlimit: (a: { resource: number; cur: bigint; max: bigint } & Stop) =>
    make('setrlimit', [a.resource, a.cur, a.max], a),
  /** Writes the stamp of (object, firstPage + i) over each page i. */
  stamp: (
    a: { addr: Num; pages: number; object: number; firstPage?: number; nonce: bigint } & Stop,
  ) => make('stamp', [a.addr, a.pages, a.object, a.firstPage ?? 0, a.nonce], a),
  /** Reads each page back as a page word (see decodePages). */
  check: (a: { addr: Num; pages: number; nonce: bigint } & Stop) =>
    make('check', [a.addr, a.pages, a.nonce], a),
  fillerSetup: (a: { base: bigint; slots: number; stride: bigint; prot: number } & Stop) =>
    make('fillerSetup', [a.base, a.slots, a.stride, a.prot], a),
  fill: (a: { count: number } & Stop) => make('fill', [a.count], a),
  count: () => make('count', []),
  /** The VMAs meeting [start, end): PROCMAP_QUERY where the kernel has it, else the maps text. */
  query: (a: { start: Num; end: Num; text?: boolean } & Stop) =>
    make('query', [a.start, a.end, a.text ? protocol().queryFlags.text : 0], a),
  findFree: (a: { length: Num } & Stop) => make('findFree', [a.length], a),
  memfd: (a: { size: Num } & Stop) => make('memfd', [a.size], a),
  close: (a: { fd: number } & Stop) => make('close', [a.fd], a),
  procField: (a: { file: ProcFile; name: string } & Stop) =>
    make('procField', [protocol().procFile[a.file], ...packName(a.name)], a),
  /** The effective capabilities from now on: `caps` (a capability bit mask), within the permitted set. */
  effectiveCaps: (a: { caps: bigint } & Stop) =>
    make('effectiveCaps', [a.caps & 0xffffffffn, a.caps >> 32n], a),
  crash: () => make('crash', []),
  hang: () => make('hang', []),
  exit: (a: { status: number }) => make('exit', [a.status]),
} as const;

/** Encodes a batch of operations into the records the child reads. */
export function encodeBatch(ops: readonly LabOp[]): Buffer {
  const p = protocol();
  const r = p.opRec;
  const buf = Buffer.alloc(ops.length * r.size);
  ops.forEach((o, i) => {
    const base = i * r.size;
    buf.writeUInt32LE(p.ops[o.op]!, base + r.op);
    buf.writeUInt32LE(o.stopOnError ? p.opFlags.stopOnError : 0, base + r.flags);
    if (o.args.length > p.opArgs) throw new RangeError(`${o.op}: more than ${p.opArgs} arguments`);
    o.args.forEach((a, k) => buf.writeBigUInt64LE(BigInt.asUintN(64, a), base + r.args + 8 * k));
  });
  return buf;
}

/** Decodes the result records of the `executed` first operations of a batch. */
export function decodeResults(
  ops: readonly LabOp[],
  executed: number,
  results: Buffer,
  data: Buffer,
): LabResult[] {
  const r = protocol().result;
  const out: LabResult[] = [];
  for (let i = 0; i < executed; i++) {
    const base = i * r.size;
    const off = results.readUInt32LE(base + r.dataOff);
    const len = results.readUInt32LE(base + r.dataLen);
    out.push({
      op: ops[i]!.op,
      ret: results.readBigInt64LE(base + r.ret),
      v: [0, 1, 2].map((k) => results.readBigUInt64LE(base + r.v + 8 * k)) as [
        bigint,
        bigint,
        bigint,
      ],
      data: data.subarray(off, off + len),
    });
  }
  return out;
}

/** One VMA of a region snapshot. */
export interface VmaSnapshot {
  start: bigint;
  end: bigint;
  /** As /proc/PID/maps prints them: "rw-p", "r--s". */
  perms: string;
  offset: bigint;
  inode: bigint;
  devMajor: number;
  devMinor: number;
  name: string;
}

function permsOf(bits: number): string {
  return `${bits & 1 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 4 ? 'x' : '-'}${bits & 8 ? 's' : 'p'}`;
}

export function decodeVmas(data: Buffer): VmaSnapshot[] {
  const v = protocol().vmaRec;
  const out: VmaSnapshot[] = [];
  for (let off = 0; off + v.size <= data.length; off += v.size) {
    const nameLen = Math.min(data.readUInt32LE(off + v.nameLen), v.nameBytes);
    out.push({
      start: data.readBigUInt64LE(off + v.start),
      end: data.readBigUInt64LE(off + v.end),
      offset: data.readBigUInt64LE(off + v.offset),
      inode: data.readBigUInt64LE(off + v.inode),
      devMajor: data.readUInt32LE(off + v.devMajor),
      devMinor: data.readUInt32LE(off + v.devMinor),
      perms: permsOf(data.readUInt32LE(off + v.perms)),
      name: data.toString('utf8', off + v.name, off + v.name + nameLen),
    });
  }
  return out;
}

/** What one page held when it was read back. */
export type PageState =
  | { kind: 'unmapped' }
  | { kind: 'zero' }
  | { kind: 'stamp'; object: number; page: number }
  | { kind: 'other' }
  | { kind: 'unreadable' };

/** Decodes the page words of a `check` operation. */
export function decodePages(data: Buffer): PageState[] {
  const c = protocol().pageClass;
  const shift = BigInt(c.shift);
  const out: PageState[] = [];
  for (let off = 0; off + 8 <= data.length; off += 8) {
    const w = data.readBigUInt64LE(off);
    const cls = Number(w >> shift);
    if (cls === c.unmapped) out.push({ kind: 'unmapped' });
    else if (cls === c.zero) out.push({ kind: 'zero' });
    else if (cls === c.stamp) {
      out.push({
        kind: 'stamp',
        object: Number((w >> 32n) & 0xffffn),
        page: Number(w & 0xffffffffn),
      });
    } else if (cls === c.unreadable) out.push({ kind: 'unreadable' });
    else out.push({ kind: 'other' });
  }
  return out;
}
