// What a case did, as git bisect needs it: an outcome the user names on each
// side (--good, --bad), matched against the case's report from the kernel
// under test. An outcome is a list of terms, all of which must hold:
//   ok | ENOMEM | EFAULT | ...   the call's result
//   destroyed | kept            an error return destroyed mappings, or not
//                               (invariant cases: broken | kept)
//   pass | fail:destroyed | ...  the verdict
//   era:ID                      the observation matches era ID's model
//   report:FILE                 the result and destroyed/kept the case had in a saved run report
import { readFileSync } from 'node:fs';
import { ERAS, isEra, type EraId } from './model/types.js';
import { SCHEMA, type CaseReport, type RunReport } from './report/report.js';
import { VERDICTS, type Verdict } from './judge/verdict.js';

export type OutcomeTerm =
  | { kind: 'result'; value: string }
  | { kind: 'destroyed' | 'kept' }
  | { kind: 'verdict'; value: Verdict }
  | { kind: 'era'; value: EraId };

export interface Outcome {
  text: string;
  terms: OutcomeTerm[];
}

export class OutcomeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutcomeError';
  }
}

/** Whether an error return destroyed mappings (for invariant cases: whether the invariant broke). */
export function destroyedIn(c: CaseReport): boolean {
  if (c.invariant) return !c.invariant.kept;
  return c.observed !== null && c.observed.errno !== null && c.observed.destroyed.length > 0;
}

/** The call's result: `ok` or the errno's name. */
export function resultOf(c: CaseReport): string | null {
  return c.observed ? (c.observed.errno ?? 'ok') : null;
}

/** The case's outcome in words, the way --good and --bad spell it. */
export function describeOutcome(c: CaseReport): string {
  if (!c.observed && !c.invariant) return `${c.verdict}: ${c.reason}`;
  const parts = [
    ...(resultOf(c) ? [resultOf(c)!] : []),
    c.invariant ? (c.invariant.kept ? 'kept' : 'broken') : destroyedIn(c) ? 'destroyed' : 'kept',
  ];
  return `${parts.join(',')} (${c.verdict}; matches ${c.matchingEras.length ? c.matchingEras.join(', ') : 'no era'})`;
}

function termsFromReport(file: string, id: string): OutcomeTerm[] {
  let r: RunReport;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as RunReport;
  } catch (err) {
    throw new OutcomeError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (r?.schema !== SCHEMA) throw new OutcomeError(`${file} is not a run report`);
  const c = r.cases.find((x) => x.id === id);
  if (!c) throw new OutcomeError(`${file} has no case ${id}`);
  const result = resultOf(c);
  if (result === null)
    throw new OutcomeError(`${id} did not run in ${file} (${c.verdict}): it gives no outcome`);
  return [{ kind: 'result', value: result }, { kind: destroyedIn(c) ? 'destroyed' : 'kept' }];
}

/** Parses an outcome: terms separated by commas (or +). */
export function parseOutcome(text: string, caseId: string): Outcome {
  const terms: OutcomeTerm[] = [];
  for (const raw of text.split(/[,+]/).map((t) => t.trim())) {
    if (!raw) continue;
    if (raw === 'ok' || /^E[A-Z0-9]+$/.test(raw)) terms.push({ kind: 'result', value: raw });
    else if (raw === 'destroyed' || raw === 'broken') terms.push({ kind: 'destroyed' });
    else if (raw === 'kept') terms.push({ kind: 'kept' });
    else if ((VERDICTS as readonly string[]).includes(raw))
      terms.push({ kind: 'verdict', value: raw as Verdict });
    else if (raw.startsWith('era:')) {
      const e = raw.slice(4);
      if (!isEra(e)) throw new OutcomeError(`unknown era ${e}: use one of ${ERAS.join(', ')}`);
      terms.push({ kind: 'era', value: e });
    } else if (raw.startsWith('report:')) terms.push(...termsFromReport(raw.slice(7), caseId));
    else
      throw new OutcomeError(
        `${JSON.stringify(raw)} is no outcome: use ok or an errno (ENOMEM), destroyed or kept, a verdict (${VERDICTS.join(', ')}), era:ID or report:FILE`,
      );
  }
  if (!terms.length) throw new OutcomeError(`an empty outcome: ${JSON.stringify(text)}`);
  return { text, terms };
}

export function matchesOutcome(o: Outcome, c: CaseReport): boolean {
  return o.terms.every((t) => {
    switch (t.kind) {
      case 'result':
        return resultOf(c) === t.value;
      case 'destroyed':
        return c.observed !== null && destroyedIn(c);
      case 'kept':
        return c.observed !== null && !destroyedIn(c);
      case 'verdict':
        return c.verdict === t.value;
      case 'era':
        return c.matchingEras.includes(t.value);
    }
  });
}

/** git bisect run's exit statuses. */
export const BISECT = { good: 0, bad: 1, skip: 125, abort: 128 } as const;

/**
 * good (0) when the case behaves as --good says, bad (1) as --bad says; with
 * only one side given, anything else is the other side. A case that did not
 * run, or behaves as neither or both, cannot be judged: skip (125).
 */
export function bisectSide(
  c: CaseReport,
  good: Outcome | undefined,
  bad: Outcome | undefined,
): { status: number; why: string } {
  const seen = describeOutcome(c);
  if (c.verdict === 'skip' || c.verdict === 'broken' || (!c.observed && !c.invariant))
    return { status: BISECT.skip, why: `the case did not run: ${c.verdict}, ${c.reason}` };
  const g = good ? matchesOutcome(good, c) : undefined;
  const b = bad ? matchesOutcome(bad, c) : undefined;
  const isGood = g ?? !b;
  const isBad = b ?? !g;
  if (isGood && !isBad) return { status: BISECT.good, why: `${seen}: as on the good side` };
  if (isBad && !isGood) return { status: BISECT.bad, why: `${seen}: as on the bad side` };
  return {
    status: BISECT.skip,
    why: `${seen}: ${isGood ? 'matches both --good and --bad' : 'matches neither --good nor --bad'}`,
  };
}
