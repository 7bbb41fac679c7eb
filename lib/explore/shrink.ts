// Shrinking a finding to a minimal case, the way property-based testing
// shrinks a counterexample: try simpler scenarios one at a time, keep the
// first that still shows the finding, start again from it, and stop when no
// simpler one does (or the runs are spent). "Simpler" is an order on
// scenarios: fewer VMAs, then fewer pages, then fewer flags and unaligned
// arguments, then fewer features (protections other than rw, backings other
// than private anonymous, mlock, limits, capabilities given up), then the
// pressure nearest the limit (none when it does not matter), then the least
// headroom under a limit. Every
// candidate is valid (validateScenario); the oracle decides whether it shows
// the same finding. Deterministic: the same oracle gives the same result.
import { pressureText, type Scenario } from '../scenarios/types.js';
import { describeScenario } from './generate.js';
import { validateScenario } from './validate.js';

/** Whether a candidate shows the finding (a real run in the lab, or a pure function in tests). */
export type Oracle = (s: Scenario) => boolean | Promise<boolean>;

export interface ShrinkOptions {
  /** Oracle calls at most, the first (the original) included. */
  maxRuns?: number;
  /** The id of the shrunk scenario, before its @pressure (default: the original's with -min). */
  base?: string;
}

export interface ShrinkResult {
  scenario: Scenario;
  /** Oracle calls made. */
  runs: number;
  /** Candidates kept on the way. */
  steps: number;
  /** The original showed the finding when run again (when not, nothing was shrunk). */
  reproduced: boolean;
  /** The runs ran out before no simpler candidate was left. */
  exhausted: boolean;
}

/** The order the shrinker minimises, most important first (smaller is simpler). */
export function complexity(s: Scenario): number[] {
  const c = s.call;
  const pages =
    s.layout.reduce((n, p) => n + p.pages + Math.max(0, (p.objectPages ?? p.pages) - p.pages), 0) +
    c.oldPages +
    (typeof c.newPages === 'number' ? c.newPages : 0);
  const unaligned = [c.oldShort, c.newShort, c.oldMisalign, c.newMisalign].filter(
    (x) => x !== undefined,
  ).length;
  const flags = c.flags.length + (c.otherFlags ? 1 : 0) + unaligned;
  const features =
    s.layout.reduce(
      (n, p) => n + (p.prot !== 'rw' ? 1 : 0) + (p.backing !== 'anon' ? 1 : 0) + (p.mlock ? 1 : 0),
      0,
    ) +
    (s.limits?.as ? 1 : 0) +
    (s.limits?.memlock ? 1 : 0) +
    (s.requires?.dropCaps?.length ?? 0);
  const pressure = s.pressure === null ? 0 : 1 + Math.abs(s.pressure);
  const headroom = (s.limits?.as?.headroom ?? 0) + (s.limits?.memlock?.headroom ?? 0);
  return [s.layout.length, pages, flags, features, pressure, headroom];
}

function simpler(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

const clone = (s: Scenario): Scenario => structuredClone(s);

/** Puts the fields that follow from the call back in line after an edit. */
function tidy(s: Scenario): Scenario {
  const c = s.call;
  const moves = c.flags.includes('FIXED') || c.flags.includes('DONTUNMAP');
  if (!moves) {
    delete c.newAddr;
    delete c.newMisalign;
  }
  if (c.otherFlags === 0) delete c.otherFlags;
  const r = s.requires;
  if (r) {
    if (c.newAddr !== 'zero') {
      delete r.mmapMinAddr;
      if (r.dropCaps) r.dropCaps = r.dropCaps.filter((x) => x !== 'CAP_SYS_RAWIO');
    }
    if (!c.flags.includes('DONTUNMAP') && r.minKernel?.[0] === 5 && r.minKernel[1] === 7) {
      delete r.minKernel;
    }
    if (!s.layout.some((p) => p.mlock) && r.dropCaps) {
      r.dropCaps = r.dropCaps.filter((x) => x !== 'CAP_IPC_LOCK');
    }
    if (r.dropCaps && !r.dropCaps.length) delete r.dropCaps;
    if (!Object.keys(r).length) delete s.requires;
  }
  const l = s.limits;
  if (l) {
    if (l.memlock && !s.layout.some((p) => p.mlock)) delete l.memlock;
    if (!l.as && !l.memlock) delete s.limits;
  }
  return s;
}

/** Smaller page counts to try for n, smallest first: 1, then n less a half, a quarter... of n, then n - 1. */
function fewer(n: number): number[] {
  const out = [1];
  for (let d = Math.ceil(n / 2); d >= 1; d = Math.floor(d / 2)) out.push(n - d);
  return [...new Set(out)].filter((x) => x >= 1 && x < n);
}

/** Offsets nearer the limit than p: none, M, then halfway and one step toward M. */
function nearer(p: number | null): (number | null)[] {
  if (p === null) return [];
  const out: (number | null)[] = [null];
  for (const x of [0, Math.trunc(p / 2), p - Math.sign(p)]) {
    if (Math.abs(x) < Math.abs(p) && !out.includes(x)) out.push(x);
  }
  return out;
}

/** The first page of each run of unmapped pages inside the old range, past its first page. */
function holesInOldRange(s: Scenario): number[] {
  const mapped = (x: number) => s.layout.some((p) => p.page <= x && x < p.page + p.pages);
  const out: number[] = [];
  for (let x = s.call.old + 1; x < s.call.old + s.call.oldPages; x++) {
    if (!mapped(x) && mapped(x - 1)) out.push(x);
  }
  return out;
}

/** Simpler candidates of a scenario, the biggest simplifications first. */
export function candidates(s: Scenario): Scenario[] {
  const out: Scenario[] = [];
  const edit = (f: (c: Scenario) => void) => {
    const c = clone(s);
    f(c);
    out.push(tidy(c));
  };
  // Fewer VMAs: every destination piece at once, then each piece alone.
  if (s.layout.filter((p) => p.label.startsWith('dst')).length > 1) {
    edit((c) => (c.layout = c.layout.filter((p) => !p.label.startsWith('dst'))));
  }
  for (let i = s.layout.length - 1; i >= 0; i--) edit((c) => c.layout.splice(i, 1));
  // Fewer pages: a hole inside the old range one page narrower (what lies after moves down).
  for (const x of holesInOldRange(s)) {
    edit((c) => {
      for (const p of c.layout) if (p.page > x) p.page--;
      if (typeof c.call.newAddr === 'number' && c.call.newAddr > x) c.call.newAddr--;
      if (c.call.newPages === c.call.oldPages) c.call.newPages--;
      c.call.oldPages--;
    });
  }
  // A same-size call stays one (DONTUNMAP wants it), then each length alone.
  const np = s.call.newPages;
  if (np === s.call.oldPages) {
    for (const n of fewer(np)) edit((c) => (c.call.oldPages = c.call.newPages = n));
  }
  for (const n of fewer(s.call.oldPages)) edit((c) => (c.call.oldPages = n));
  if (typeof np === 'number') {
    if (np > s.call.oldPages) edit((c) => (c.call.newPages = c.call.oldPages));
    for (const n of fewer(np)) edit((c) => (c.call.newPages = n));
  }
  s.layout.forEach((p, i) => {
    for (const n of fewer(p.pages)) edit((c) => (c.layout[i]!.pages = n));
    if (p.objectPages !== undefined && p.objectPages > p.pages) {
      edit((c) => delete c.layout[i]!.objectPages);
    }
  });
  // Fewer flags and unaligned arguments.
  for (const f of s.call.flags) edit((c) => (c.call.flags = c.call.flags.filter((x) => x !== f)));
  if (s.call.otherFlags) edit((c) => delete c.call.otherFlags);
  for (const k of ['oldShort', 'newShort', 'oldMisalign', 'newMisalign'] as const) {
    if (s.call[k] !== undefined) edit((c) => delete c.call[k]);
  }
  // Fewer features.
  s.layout.forEach((p, i) => {
    if (p.prot !== 'rw') edit((c) => (c.layout[i]!.prot = 'rw'));
    if (p.backing !== 'anon') {
      edit((c) => {
        c.layout[i]!.backing = 'anon';
        delete c.layout[i]!.objectPages;
      });
    }
    if (p.mlock) edit((c) => delete c.layout[i]!.mlock);
  });
  if (s.limits?.as) edit((c) => delete c.limits!.as);
  if (s.limits?.memlock) edit((c) => delete c.limits!.memlock);
  if (s.limits?.as?.headroom) edit((c) => (c.limits!.as!.headroom = 0));
  if (s.limits?.memlock?.headroom) edit((c) => (c.limits!.memlock!.headroom = 0));
  for (const cap of s.requires?.dropCaps ?? []) {
    edit((c) => (c.requires!.dropCaps = c.requires!.dropCaps!.filter((x) => x !== cap)));
  }
  // The pressure nearest the limit, or none.
  for (const p of nearer(s.pressure)) edit((c) => (c.pressure = p));
  const before = complexity(s);
  return out.filter((c) => simpler(complexity(c), before) && validateScenario(c).length === 0);
}

/** The id and summary of a shrunk scenario. */
function named(s: Scenario, base: string): Scenario {
  return { ...s, id: `${base}@${pressureText(s.pressure)}`, summary: describeScenario(s) };
}

export async function shrinkScenario(
  original: Scenario,
  holds: Oracle,
  o: ShrinkOptions = {},
): Promise<ShrinkResult> {
  const maxRuns = o.maxRuns ?? 200;
  const base = o.base ?? `${original.id.replace(/@[^@]*$/, '')}-min`;
  let runs = 1;
  if (!(await holds(original))) {
    return { scenario: original, runs, steps: 0, reproduced: false, exhausted: false };
  }
  let current = original;
  let steps = 0;
  const tried = new Set<string>();
  // Passes over the candidates; after a kept one the pass goes on from the
  // same place among the new scenario's candidates, rather than trying again
  // every earlier kind of change that just failed. Another pass follows any
  // pass that kept something.
  let kept = true;
  while (kept) {
    kept = false;
    let list = candidates(current);
    for (let i = 0; i < list.length; i++) {
      const cand = named(list[i]!, base);
      const key = JSON.stringify({ ...cand, id: '', summary: '' });
      if (tried.has(key)) continue;
      if (runs >= maxRuns) {
        return { scenario: named(current, base), runs, steps, reproduced: true, exhausted: true };
      }
      tried.add(key);
      runs++;
      if (await holds(cand)) {
        current = cand;
        steps++;
        kept = true;
        list = candidates(current);
        i--;
      }
    }
  }
  return { scenario: named(current, base), runs, steps, reproduced: true, exhausted: false };
}
