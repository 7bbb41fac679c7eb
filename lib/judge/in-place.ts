// Calls that need no new VMA (an in-place shrink of a VMA's tail, the
// same-size call, an in-place grow) must not fail for map-count reasons near
// the limit, whatever the era's model says; the model's view is reported beside.
import type { MachineFacts } from '../facts.js';
import type { Difference } from './differences.js';
import { offsetWord, type CaseVerdict, type InvariantReport, type Judged } from './verdict.js';

export function judgeInPlace(
  j: Judged,
  diffs: Difference[],
  words: string[],
  facts: MachineFacts,
  base: Pick<CaseVerdict, 'matches'>,
): CaseVerdict {
  const obs = j.run.obs;
  const kept = obs.ret.ok;
  const errno = obs.ret.ok ? null : obs.ret.errno;
  const invariant: InvariantReport = {
    kind: 'in-place',
    kept,
    errno,
    mapCountBefore: obs.mapCountBefore,
    offset: obs.mapCountBefore - facts.maxMapCount,
  };
  const model = diffs.length
    ? `; differs from the ${j.era} model: ${words[0]}`
    : `; the ${j.era} model agrees`;
  const at = `at map count ${obs.mapCountBefore} (${offsetWord(invariant.offset)})`;
  // The invariant held but the judging era's model says otherwise: that is a
  // departure from the model, as for any other case (pass means both hold).
  return {
    ...base,
    verdict: !kept ? 'fail:invariant' : diffs.length ? 'fail:model' : 'pass',
    reason: kept
      ? `succeeded ${at}: needs no new VMA and gets none${model}`
      : `${errno} ${at} for a call that needs no new VMA${model}`,
    judged: j,
    differences: diffs,
    invariant,
  };
}
