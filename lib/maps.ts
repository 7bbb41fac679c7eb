// /proc/PID/maps: reading it in one read() pass, parsing it, and counting VMAs
// the way the kernel counts mm->map_count.
import { machine } from 'node:os';
import { native } from './native.js';

export interface MapsEntry {
  start: bigint;
  end: bigint;
  /** The four permission characters as the kernel prints them, e.g. "rw-p". */
  perms: string;
  read: boolean;
  write: boolean;
  exec: boolean;
  shared: boolean;
  offset: bigint;
  devMajor: number;
  devMinor: number;
  inode: bigint;
  /** The name column as printed (escapes kept), "" for an anonymous VMA. */
  name: string;
  /** The name with the kernel's `\012` escapes decoded and " (deleted)" removed. */
  path: string;
  /** The file behind the mapping was deleted (the name ends in " (deleted)"). */
  deleted: boolean;
  /** `[heap]`, `[stack]`, `[vdso]`, `[vvar]`, `[vsyscall]`, `[anon:...]` and the like. */
  pseudo: boolean;
}

/**
 * The gate VMA's name for an architecture (Node's names), or null where it has
 * none: /proc lists the gate VMA after every real VMA, but map_count does not
 * count it. x86-64 has `[vsyscall]` (absent with vsyscall=none); arm64 has
 * none; 32-bit arm's is its vector page, `[vectors]`, except in a 32-bit
 * process on an arm64 kernel (machine armv8l), where `[vectors]` is an
 * ordinary mapping and counts.
 */
export function gateVmaName(arch: string = process.arch, uname: string = machine()): string | null {
  if (arch === 'x64') return '[vsyscall]';
  if (arch === 'arm' && !uname.startsWith('armv8')) return '[vectors]';
  return null;
}

/** This machine's gate VMA name, or null. */
export const GATE_VMA_NAME = gateVmaName();

const DELETED = ' (deleted)';

export class MapsParseError extends Error {
  constructor(
    message: string,
    readonly lineNumber: number,
    readonly line: string,
  ) {
    super(`${message} at line ${lineNumber}: ${JSON.stringify(line)}`);
    this.name = 'MapsParseError';
  }
}

const HEADER =
  /^([0-9a-f]+)-([0-9a-f]+) ([r-])([w-])([x-])([ps]) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) ([0-9]+)(?: +(.*))?$/;

/** Parses one line of /proc/PID/maps (without its newline). */
export function parseMapsLine(line: string, lineNumber = 1): MapsEntry {
  const m = HEADER.exec(line);
  if (!m) throw new MapsParseError('not a maps line', lineNumber, line);
  const [, start, end, r, w, x, s, offset, major, minor, inode] = m as unknown as string[];
  // The kernel pads the name column with spaces and puts one space after the
  // inode even where no name follows.
  const name = m[11] ?? '';
  const deleted = name.endsWith(DELETED);
  const bare = deleted ? name.slice(0, -DELETED.length) : name;
  const entry: MapsEntry = {
    start: BigInt(`0x${start}`),
    end: BigInt(`0x${end}`),
    perms: `${r}${w}${x}${s}`,
    read: r === 'r',
    write: w === 'w',
    exec: x === 'x',
    shared: s === 's',
    offset: BigInt(`0x${offset}`),
    devMajor: parseInt(major!, 16),
    devMinor: parseInt(minor!, 16),
    inode: BigInt(inode!),
    name,
    path: bare.replaceAll('\\012', '\n'),
    deleted,
    pseudo: /^\[.*\]$/.test(bare),
  };
  if (entry.end < entry.start) throw new MapsParseError('end below start', lineNumber, line);
  return entry;
}

/** Parses the whole text of a maps file. */
export function parseMaps(text: string): MapsEntry[] {
  const out: MapsEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' && i === lines.length - 1) break;
    out.push(parseMapsLine(line, i + 1));
  }
  return out;
}

/** True for the gate VMA: the last entry, with the gate VMA's name (this machine's by default). */
export function isGateVma(
  entries: readonly MapsEntry[],
  index: number,
  gate: string | null = GATE_VMA_NAME,
): boolean {
  return gate !== null && index === entries.length - 1 && entries[index]?.name === gate;
}

/**
 * mm->map_count as the kernel keeps it: every listed VMA except the gate VMA,
 * which /proc/PID/maps shows after the last real VMA.
 */
export function mapCount(
  entries: readonly MapsEntry[],
  gate: string | null = GATE_VMA_NAME,
): number {
  const last = entries.length - 1;
  return last >= 0 && isGateVma(entries, last, gate) ? entries.length - 1 : entries.length;
}

export interface MapsSnapshot {
  pid: number;
  text: string;
  entries: MapsEntry[];
  lines: number;
  mapCount: number;
  gateVma: boolean;
}

let buffer = new Uint8Array(1 << 20);

/**
 * Reads /proc/PID/maps (this process when pid is omitted) with read() into a
 * buffer allocated beforehand, growing it and reading again when it was too
 * small, and parses it. Counts and lines come from the same read.
 */
export function readMaps(pid?: number): MapsSnapshot {
  const addon = native();
  for (;;) {
    try {
      const n = addon.readMaps(pid ?? 0, buffer);
      const text = Buffer.from(buffer.buffer, buffer.byteOffset, n).toString('utf8');
      const entries = parseMaps(text);
      const count = mapCount(entries);
      return {
        pid: pid ?? process.pid,
        text,
        entries,
        lines: entries.length,
        mapCount: count,
        gateVma: count !== entries.length,
      };
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOBUFS') throw err;
      buffer = new Uint8Array(buffer.length * 4);
    }
  }
}

export interface MapsSummary {
  vmas: number;
  lines: number;
  mapCount: number;
  gateVma: boolean;
  anonymous: number;
  fileBacked: number;
  pseudo: number;
  shared: number;
  mappedBytes: bigint;
}

export function summarize(
  entries: readonly MapsEntry[],
  gate: string | null = GATE_VMA_NAME,
): MapsSummary {
  let anonymous = 0;
  let fileBacked = 0;
  let pseudo = 0;
  let shared = 0;
  let mappedBytes = 0n;
  entries.forEach((e, i) => {
    if (isGateVma(entries, i, gate)) return;
    if (e.pseudo) pseudo++;
    else if (e.inode === 0n && e.name === '') anonymous++;
    else fileBacked++;
    if (e.shared) shared++;
    mappedBytes += e.end - e.start;
  });
  const count = mapCount(entries, gate);
  return {
    vmas: count,
    lines: entries.length,
    mapCount: count,
    gateVma: count !== entries.length,
    anonymous,
    fileBacked,
    pseudo,
    shared,
    mappedBytes,
  };
}

/** Formats an address as the kernel does in maps (at least 8 hex digits). */
export function hex(value: bigint): string {
  return value.toString(16).padStart(8, '0');
}
