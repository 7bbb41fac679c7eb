// Evidence of one case: VMAs and pages before and after the call, turned into
// page numbers the model speaks, and what an error return destroyed.
import type { PageState, VmaSnapshot } from './lab.js';
import type { PageView, VmaSet } from './model/vmas.js';
import { permsOf } from './model/vmas.js';

/** A VMA in pages, as compared between model and lab. */
export interface VmaView {
  start: number;
  end: number;
  perms: string;
}

/** What one page showed, in the words of the report. */
export type PageWord = string;

export function pageWord(p: PageState | PageView): PageWord {
  switch (p.kind) {
    case 'stamp':
      return `stamp ${p.object}:${p.page}`;
    default:
      return p.kind;
  }
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

/** A page range of one word: "stamp 2:0..3" covers stamp 2:0, 2:1, 2:2, 2:3. */
export interface PageRun {
  start: number;
  end: number;
  state: string;
}

/** Compresses page words into runs (consecutive stamps of one object count as one run). */
export function pageRuns(pages: Map<number, PageWord>): PageRun[] {
  const keys = [...pages.keys()].sort((a, b) => a - b);
  const runs: (PageRun & { obj?: string; first?: number; last?: number })[] = [];
  for (const k of keys) {
    const w = pages.get(k)!;
    const m = /^stamp (\d+):(\d+)$/.exec(w);
    const prev = runs.at(-1);
    if (prev && prev.end === k) {
      if (m && prev.obj === m[1] && prev.last! + 1 === Number(m[2])) {
        prev.end = k + 1;
        prev.last = Number(m[2]);
        continue;
      }
      if (!m && !prev.obj && prev.state === w) {
        prev.end = k + 1;
        continue;
      }
    }
    runs.push(
      m
        ? { start: k, end: k + 1, state: w, obj: m[1]!, first: Number(m[2]), last: Number(m[2]) }
        : { start: k, end: k + 1, state: w },
    );
  }
  return runs.map((r) => ({
    start: r.start,
    end: r.end,
    state:
      r.obj !== undefined && r.last !== r.first ? `stamp ${r.obj}:${r.first}..${r.last}` : r.state,
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
  before: { vmas: VmaView[]; pages: Map<number, PageWord> },
  after: { vmas: VmaView[]; pages: Map<number, PageWord> },
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
  for (const [p, w] of before.pages) {
    if (lost.has(p) || !w.startsWith('stamp')) continue;
    const now = after.pages.get(p);
    if (now === undefined || now === w) continue;
    lost.set(p, now === 'unmapped' ? 'unmapped' : now === 'zero' ? 'zeroed' : 'changed');
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
