// From a scenario to concrete pages: where the window lies, the call with its
// lengths and flag bits, the steps that lay out and stamp the region, the
// ranges the evidence covers and the pages read back. Pure: the lab, the
// model, the verdict, `explain` and the reproducer all take a case from here.
import { flagBits, PROT_BITS } from './bits.js';
import type { MremapCall } from './model/types.js';
import type { BackingKind, Pages, Piece, Scenario } from './scenarios/types.js';

/** What placing a case needs to know about the machine. */
export interface PlacementFacts {
  pageSize: number;
  /** Pages a grow must reach to fail the heuristic overcommit charge (see facts.ts). */
  beyondCommit: number;
  /** /proc/self/mem reads PROT_NONE pages here (kernel.ts: protNoneReadable); true when not given. */
  protNoneReadable?: boolean;
}

/** A layout piece at its pages, with the stamp object it carries. */
export interface PlacedPiece {
  piece: Piece;
  index: number;
  /** Piece i carries stamps of object i + 1, page by page. */
  object: number;
  start: number;
  end: number;
}

/**
 * One step of laying out the region, in the order the lab makes them: every
 * piece is mapped read-write, stamped, locked, then given its protection.
 */
export type LayoutStep =
  | { kind: 'memfd'; piece: number; pages: number }
  | { kind: 'mmap'; piece: number; start: number; pages: number; backing: BackingKind }
  | { kind: 'stamp'; piece: number; start: number; pages: number; object: number }
  | { kind: 'mprotect'; piece: number; start: number; pages: number; prot: number }
  | { kind: 'mlock'; piece: number; start: number; pages: number };

export interface Placement {
  scenario: Scenario;
  pageSize: number;
  /** Page number of the window's first page. */
  window: number;
  windowPages: number;
  newPages: number;
  /** The call in page numbers, flags as bits (lengths rounded up to pages; `raw` says what was not aligned). */
  call: MremapCall;
  /** The call's arguments as the lab passes them, in bytes. */
  args: { old: bigint; oldLength: bigint; newLength: bigint; flags: number; newAddr: bigint };
  /** Where the model puts a move to an address the kernel picks: just past the window. */
  picked: number;
  /** Whether the lab can read the contents of PROT_NONE pages on this machine (else they read as unreadable). */
  protNoneReadable: boolean;
  pieces: PlacedPiece[];
  layout: LayoutStep[];
  /** Page ranges [start, end) the case can touch in the lab: the window, and [0, new_len) for new_addr 0. */
  ranges: [number, number][];
  /** The ranges the model and the judge look at: those, and the place of a range the kernel picks. */
  views: [number, number][];
  /** Spans [start, pages) of pages read back before and after the call. */
  evidence: [number, number][];
}

/** Pages read back per span at most, for huge windows. */
export const MAX_EVIDENCE = 512;
const SPAN_CAP = 64;

export function resolvePages(p: Pages, facts: PlacementFacts): number {
  return p === 'beyond-commit' ? facts.beyondCommit : p;
}

/** The window's page count and new_len, resolved for this machine. */
export function resolveSizes(
  s: Scenario,
  facts: PlacementFacts,
): { windowPages: number; newPages: number } {
  const newPages = resolvePages(s.call.newPages, facts);
  const windowPages =
    s.windowPages === 'beyond-commit' ? (s.call.newAddr as number) + newPages + 8 : s.windowPages;
  return { windowPages, newPages };
}

function layoutSteps(pieces: PlacedPiece[]): LayoutStep[] {
  const steps: LayoutStep[] = [];
  for (const { piece: p, index } of pieces) {
    if (p.backing === 'memfd') {
      steps.push({ kind: 'memfd', piece: index, pages: p.objectPages ?? p.pages });
    }
  }
  for (const { piece: p, index, object, start } of pieces) {
    steps.push({ kind: 'mmap', piece: index, start, pages: p.pages, backing: p.backing });
    steps.push({ kind: 'stamp', piece: index, start, pages: p.pages, object });
    // Locked while still readable: mlock() of a PROT_NONE range fails to populate it (ENOMEM).
    if (p.mlock) steps.push({ kind: 'mlock', piece: index, start, pages: p.pages });
    if (p.prot !== 'rw') {
      steps.push({
        kind: 'mprotect',
        piece: index,
        start,
        pages: p.pages,
        prot: PROT_BITS[p.prot],
      });
    }
  }
  return steps;
}

/** The pages to read back: the whole window when small, else the layout, the old range and the ends of the new range. */
function evidenceSpans(
  s: Scenario,
  window: number,
  windowPages: number,
  newPages: number,
  low: [number, number] | undefined,
): [number, number][] {
  const spans: [number, number][] = [];
  if (windowPages <= MAX_EVIDENCE) spans.push([window, windowPages]);
  else {
    const add = (a: number, n: number) => spans.push([window + a, Math.min(n, SPAN_CAP)]);
    for (const p of s.layout) add(p.page, p.pages);
    add(s.call.old, s.call.oldPages + 2);
    if (typeof s.call.newAddr === 'number') {
      add(s.call.newAddr, 16);
      add(s.call.newAddr + newPages - 16, 16);
    }
  }
  if (low) spans.push([low[0], Math.min(low[1], SPAN_CAP)]);
  return spans;
}

/** Places a scenario with its window at page `window`. */
export function place(s: Scenario, facts: PlacementFacts, window: number): Placement {
  const { windowPages, newPages } = resolveSizes(s, facts);
  const c = s.call;
  const P = facts.pageSize;
  const call: MremapCall = {
    old: window + c.old,
    oldLen: c.oldPages,
    newLen: newPages,
    flags: flagBits(c.flags) | (c.otherFlags ?? 0),
    newAddr: c.newAddr === undefined || c.newAddr === 'zero' ? 0 : window + c.newAddr,
  };
  const raw = {
    ...(c.oldMisalign ? { addrOff: c.oldMisalign } : {}),
    ...(c.newMisalign ? { newAddrOff: c.newMisalign } : {}),
    ...(c.oldShort ? { oldBytes: c.oldPages * P - c.oldShort } : {}),
    ...(c.newShort ? { newBytes: newPages * P - c.newShort } : {}),
  };
  if (Object.keys(raw).length) call.raw = raw;
  const B = (pages: number) => BigInt(pages) * BigInt(P);
  const args = {
    old: B(call.old) + BigInt(raw.addrOff ?? 0),
    oldLength: raw.oldBytes !== undefined ? BigInt(raw.oldBytes) : B(call.oldLen),
    newLength: raw.newBytes !== undefined ? BigInt(raw.newBytes) : B(call.newLen),
    flags: call.flags,
    newAddr: B(call.newAddr) + BigInt(raw.newAddrOff ?? 0),
  };
  const low: [number, number] | undefined = c.newAddr === 'zero' ? [0, newPages] : undefined;
  const picked = window + windowPages + 64;
  const pieces = s.layout.map((piece, index) => ({
    piece,
    index,
    object: index + 1,
    start: window + piece.page,
    end: window + piece.page + piece.pages,
  }));
  return {
    scenario: s,
    pageSize: P,
    window,
    windowPages,
    newPages,
    call,
    args,
    picked,
    protNoneReadable: facts.protNoneReadable ?? true,
    pieces,
    layout: layoutSteps(pieces),
    ranges: [[window, window + windowPages], ...(low ? [low] : [])],
    views: [[window, window + windowPages], ...(low ? [low] : []), [picked, picked + newPages]],
    evidence: evidenceSpans(s, window, windowPages, newPages, low),
  };
}

/** The address of a page. */
export function addressOf(p: Pick<Placement, 'pageSize'>, page: number): bigint {
  return BigInt(page) * BigInt(p.pageSize);
}

/** The label of the layout piece a page belongs to, or 'free'. */
export function labelAt(p: Placement, page: number): string {
  return p.pieces.find((x) => x.start <= page && page < x.end)?.piece.label ?? 'free';
}

/** Whether a page lies in the ranges the case looks at. */
export function inRanges(p: Pick<Placement, 'ranges'>, start: number, end: number): boolean {
  return p.ranges.some(([a, b]) => end > a && start < b);
}
