// Evidence of one case, in the pages the model speaks: VMAs and page states
// before and after the call, compared as data, and what an error return
// destroyed.
import type { VmaSet } from '../model/vmas.js';
import { permsOf } from '../model/vmas.js';
import type { PageState, VmaSnapshot } from '../protocol.js';

/** A VMA in pages, as compared between model and lab. */
export interface VmaView {
  start: number;
  end: number;
  perms: string;
}

/** Page number -> what it held. */
export type Pages = Map<number, PageState>;

/** The VMAs meeting a case's ranges, and the pages read back there. */
export interface Snapshot {
  vmas: VmaView[];
  pages: Pages;
}

export function vmaViews(snap: VmaSnapshot[], pageSize: number): VmaView[] {
  const P = BigInt(pageSize);
  return snap.map((v) => ({ start: Number(v.start / P), end: Number(v.end / P), perms: v.perms }));
}

export function modelVmaViews(s: VmaSet, ranges: [number, number][]): VmaView[] {
  return s.vmas
    .filter((v) => ranges.some(([a, b]) => v.end > a && v.start < b))
    .map((v) => ({ start: v.start, end: v.end, perms: permsOf(v) }));
}

/** The model's view of the same ranges and pages as a snapshot from the lab. */
export function modelSnapshot(
  s: VmaSet,
  ranges: [number, number][],
  pages: Iterable<number>,
): Snapshot {
  const m: Pages = new Map();
  for (const p of pages) m.set(p, s.read(p));
  return { vmas: modelVmaViews(s, ranges), pages: m };
}

export function samePage(a: PageState | undefined, b: PageState | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind !== b.kind) return false;
  return a.kind !== 'stamp' || (b.kind === 'stamp' && a.object === b.object && a.page === b.page);
}

export function sameVmas(a: VmaView[], b: VmaView[]): boolean {
  return (
    a.length === b.length &&
    a.every((v, i) => v.start === b[i]!.start && v.end === b[i]!.end && v.perms === b[i]!.perms)
  );
}

/** A page state in the words of the report: "stamp 2:0", "zero", "unmapped". */
export function pageText(p: PageState | undefined): string {
  if (!p) return 'not read';
  return p.kind === 'stamp' ? `stamp ${p.object}:${p.page}` : p.kind;
}

/** A run of pages of one state: "stamp 2:0..3" covers stamp 2:0, 2:1, 2:2, 2:3. */
export interface PageRun {
  start: number;
  end: number;
  state: string;
}

/** Compresses pages into runs (consecutive stamps of one object count as one run). */
export function pageRuns(pages: Pages): PageRun[] {
  const keys = [...pages.keys()].sort((a, b) => a - b);
  const runs: { start: number; end: number; first: PageState; last: PageState }[] = [];
  for (const k of keys) {
    const p = pages.get(k)!;
    const prev = runs.at(-1);
    if (prev && prev.end === k) {
      const l = prev.last;
      const follows =
        p.kind === 'stamp'
          ? l.kind === 'stamp' && l.object === p.object && l.page + 1 === p.page
          : prev.first.kind === p.kind;
      if (follows) {
        prev.end = k + 1;
        prev.last = p;
        continue;
      }
    }
    runs.push({ start: k, end: k + 1, first: p, last: p });
  }
  return runs.map((r) => ({
    start: r.start,
    end: r.end,
    state:
      r.first.kind === 'stamp' && r.last.kind === 'stamp' && r.last.page !== r.first.page
        ? `stamp ${r.first.object}:${r.first.page}..${r.last.page}`
        : pageText(r.first),
  }));
}

export interface Destroyed {
  /** unmapped: the pages are no longer mapped; zeroed / changed: mapped, content lost; perms: protection changed. */
  what: 'unmapped' | 'zeroed' | 'changed' | 'perms';
  start: number;
  end: number;
  /** The layout pieces the range belonged to. */
  pieces: string[];
}

/**
 * What a failed call destroyed: every page that was mapped before and is now
 * unmapped, or shows other bytes than its stamp, or changed protection.
 * Splits that keep every page are not destruction.
 */
export function destroyedBetween(
  before: Snapshot,
  after: Snapshot,
  labelOf: (page: number) => string,
): Destroyed[] {
  const permsAt = (vmas: VmaView[], p: number) =>
    vmas.find((v) => v.start <= p && p < v.end)?.perms;
  const lost = new Map<number, Destroyed['what']>();
  for (const v of before.vmas) {
    for (let p = v.start; p < v.end; p++) {
      const now = permsAt(after.vmas, p);
      if (now === undefined) lost.set(p, 'unmapped');
      else if (now !== v.perms) lost.set(p, 'perms');
    }
  }
  for (const [p, was] of before.pages) {
    if (lost.has(p) || was.kind !== 'stamp') continue;
    const now = after.pages.get(p);
    if (now === undefined || samePage(now, was)) continue;
    lost.set(p, now.kind === 'unmapped' ? 'unmapped' : now.kind === 'zero' ? 'zeroed' : 'changed');
  }
  const out: Destroyed[] = [];
  for (const p of [...lost.keys()].sort((a, b) => a - b)) {
    const what = lost.get(p)!;
    const prev = out.at(-1);
    const label = labelOf(p);
    if (prev && prev.end === p && prev.what === what) {
      prev.end = p + 1;
      if (!prev.pieces.includes(label)) prev.pieces.push(label);
    } else out.push({ what, start: p, end: p + 1, pieces: [label] });
  }
  return out;
}
