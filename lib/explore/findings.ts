// What a judged case is worth to the explorer: nothing (pass, skip), or a
// finding of one kind with a signature that says what happened in words that
// do not depend on the case's sizes or addresses: the kind, the errno, what
// was destroyed (by role: dst, old, other) and where the kernel and the model
// part. Cases with one signature are one finding.
import { judge, type CaseVerdict, type JudgeOptions } from '../judge/index.js';
import type { Difference } from '../judge/differences.js';
import type { Destroyed } from '../judge/evidence.js';
import type { EraId, Prediction } from '../model/types.js';
import type { CaseRun } from '../observation.js';
import type { Scenario } from '../scenarios/types.js';

/**
 * The kinds of finding, most severe first: an error after mappings were
 * destroyed; a call that needs no new VMA failing near the limit; any other
 * `fail:` verdict of the judge (fail:contract...); an outcome the era's model
 * does not predict; one that no era's model predicts (a model gap); a lab or
 * harness that could not run the case.
 */
export const KIND_ORDER = [
  'fail:destroyed',
  'in-place',
  'fail:*',
  'fail:model',
  'model-gap',
  'broken',
];

export function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i >= 0 ? i : KIND_ORDER.indexOf('fail:*');
}

export interface Classified {
  kind: string;
  /** The errno the call returned, 'ok' for success, '-' when it did not run. */
  errno: string;
  /** What an error return destroyed, the most severe loss per role: "dst:unmapped", "old:changed"... */
  destroyed: string[];
  /** Where the kernel and the judging era's model part. */
  step: string;
  signature: string;
}

/** The role of a layout piece: dst for the destination's pieces, old for the old range's, other for the rest. */
export function roleOf(label: string): 'dst' | 'old' | 'other' {
  return label.startsWith('dst') ? 'dst' : label.startsWith('old') ? 'old' : 'other';
}

/** Severity of a loss, most severe first. */
const LOSS: Destroyed['what'][] = ['unmapped', 'zeroed', 'changed', 'perms'];

/**
 * What was destroyed, by role: the most severe loss of each role, e.g.
 * ["dst:unmapped", "old:zeroed"]. One loss per role keeps layouts with more
 * pieces in the same finding, so that shrinking can take the pieces away.
 */
export function destroyedByRole(d: Destroyed[]): string[] {
  const worst = new Map<string, number>();
  for (const x of d) {
    for (const p of x.pieces) {
      const role = roleOf(p);
      worst.set(role, Math.min(worst.get(role) ?? LOSS.length, LOSS.indexOf(x.what)));
    }
  }
  return [...worst].map(([role, i]) => `${role}:${LOSS[i]}`).sort();
}

/** A reason with its numbers and lists taken out: what stays the same from case to case. */
export function reasonShape(reason: string): string {
  const parts = reason
    .replace(/0x[0-9a-f]+/gi, 'N')
    .replace(/\d+/g, 'N')
    .split(': ');
  const head = parts[0] ?? '';
  const tail = parts[1]?.split(/[[,(]/)[0]?.trim();
  return (tail ? `${head}: ${tail}` : head).slice(0, 100);
}

/** The step of a prediction where it fails, or its last step. */
function failingStep(p: Prediction): string {
  const t = p.trace.find((x) => x.errno) ?? p.trace.at(-1);
  return t ? t.fn : 'none';
}

function differenceShape(d: Difference | undefined): string {
  if (!d) return 'none';
  if (d.kind !== 'return') return d.kind;
  const e = d.expected;
  return `return (model ${e.ok ? 'ok' : e.errno})`;
}

/** Whether no era's model predicts an observed case. */
export function noEraPredicts(v: CaseVerdict): boolean {
  return v.judged !== undefined && !Object.values(v.matches).some(Boolean);
}

/** The eras whose model predicts a case. */
export function erasPredicting(v: CaseVerdict): EraId[] {
  return (Object.entries(v.matches) as [EraId, boolean][]).filter(([, m]) => m).map(([e]) => e);
}

/**
 * Classifies a verdict. `inPlace` says that the case needs no new VMA, failed
 * under pressure and succeeds without it (the caller ran it again to know).
 */
export function classify(v: CaseVerdict, inPlace = false): Classified | null {
  if (v.verdict === 'skip') return null;
  const make = (kind: string, errno: string, destroyed: string[], step: string): Classified => ({
    kind,
    errno,
    destroyed,
    step,
    signature: [kind, errno, destroyed.join('+') || '-', step].join(' | '),
  });
  if (v.verdict === 'broken') {
    const gap = /^the model cannot predict this case: (.*)$/s.exec(v.reason);
    return gap
      ? make('model-gap', '-', [], `model error: ${reasonShape(gap[1]!)}`)
      : make('broken', '-', [], reasonShape(v.reason));
  }
  const j = v.judged;
  if (!j) return null;
  const ret = j.run.obs.ret;
  const errno = ret.ok ? 'ok' : ret.errno;
  const destroyed = destroyedByRole(j.destroyed);
  const firstDiff = differenceShape(v.differences[0]);
  if (v.verdict === 'fail:destroyed') {
    const step = v.predictedDestruction
      ? `predicted at ${failingStep(j.prediction)}`
      : `not predicted: ${firstDiff}`;
    return make('fail:destroyed', errno, destroyed, step);
  }
  if (inPlace) return make('in-place', errno, destroyed, failingStep(j.prediction));
  if (v.verdict.startsWith('fail:') && v.verdict !== 'fail:model') {
    const step = v.differences.length ? firstDiff : `predicted at ${failingStep(j.prediction)}`;
    return make(v.verdict, errno, destroyed, step);
  }
  if (v.verdict === 'fail:model') {
    return make(noEraPredicts(v) ? 'model-gap' : 'fail:model', errno, destroyed, firstDiff);
  }
  return null;
}

/**
 * Whether a run may break the in-place invariant: a call that needs no new
 * VMA failed under pressure. A second run without pressure tells (it must
 * succeed there).
 */
export function inPlaceSuspect(s: Scenario, r: CaseRun): boolean {
  return s.pressure !== null && r.status === 'observed' && !r.obs.ret.ok && needsNoNewVma(s);
}

/**
 * The verdict of an in-place failure: unless it destroyed something, the run
 * is judged again as the in-place invariant's case, its scenario carrying
 * `invariant: 'in-place'` from here on (a saved finding is judged by `run
 * --cases` as explore judged it: fail:invariant, as the catalogue's in-place
 * cases are).
 */
export function judgeInPlaceFailure(v: CaseVerdict, r: CaseRun, opts: JudgeOptions): CaseVerdict {
  if (v.verdict === 'fail:destroyed' || r.status !== 'observed') return v;
  const scenario = inPlaceScenario(r.placement.scenario);
  return judge({ ...r, placement: { ...r.placement, scenario } }, opts);
}

export const inPlaceScenario = (s: Scenario): Scenario =>
  s.invariant === 'in-place' ? s : { ...s, invariant: 'in-place' };

/**
 * Whether a call needs no new VMA, from the scenario alone: no FIXED, no
 * DONTUNMAP, no unknown bit, an aligned address, the old range inside one
 * layout piece with nothing mapped right after it, and either the same size,
 * a shrink of the piece's tail, or a grow into free pages after it.
 */
export function needsNoNewVma(s: Scenario): boolean {
  const c = s.call;
  if (c.flags.some((f) => f !== 'MAYMOVE') || c.otherFlags || c.oldMisalign) return false;
  if (typeof c.newPages !== 'number') return false;
  if (s.invariant && s.invariant !== 'in-place') return false;
  const end = c.old + c.oldPages;
  const piece = s.layout.find((p) => p.page <= c.old && end <= p.page + p.pages);
  if (!piece) return false;
  const pieceEnd = piece.page + piece.pages;
  const mappedAt = (page: number) =>
    s.layout.some((p) => p.page <= page && page < p.page + p.pages);
  // A piece right after may share the VMA (merged), and then the tail is not the VMA's.
  if (mappedAt(pieceEnd)) return false;
  if (c.newPages === c.oldPages) return true;
  if (end !== pieceEnd) return false;
  if (c.newPages < c.oldPages) return true;
  for (let p = end; p < c.old + c.newPages; p++) if (mappedAt(p)) return false;
  return typeof s.windowPages !== 'number' || c.old + c.newPages <= s.windowPages;
}
