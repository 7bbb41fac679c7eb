// Cases judged by the era's model: an error return that destroyed mappings
// fails whatever the model says; otherwise the observation must be what the
// model predicts.
import type { CaseVerdict, Judged } from './verdict.js';
import type { Difference } from './differences.js';

export function judgeMove(
  j: Judged,
  diffs: Difference[],
  words: string[],
  base: Pick<CaseVerdict, 'matches'>,
): CaseVerdict {
  const obs = j.run.obs;
  if (j.destroyed.length) {
    const lost = j.destroyed
      .map((d) => `${d.end - d.start} page(s) of ${d.pieces.join('+')} ${d.what}`)
      .join(', ');
    const predicted = j.predictedDestroyed.length > 0;
    return {
      ...base,
      verdict: 'fail:destroyed',
      reason: `${obs.ret.ok ? '' : obs.ret.errno} returned after mappings were destroyed: ${lost}; the ${j.era} model ${predicted ? 'predicts this loss' : 'does not predict it'}`,
      judged: j,
      differences: diffs,
      predictedDestruction: predicted,
    };
  }
  if (diffs.length) {
    return {
      ...base,
      verdict: 'fail:model',
      reason: `differs from the ${j.era} model: ${words[0]}`,
      judged: j,
      differences: diffs,
    };
  }
  return {
    ...base,
    verdict: 'pass',
    reason: obs.ret.ok
      ? 'succeeded as the model predicts'
      : `${obs.ret.errno} with nothing destroyed, as the model predicts`,
    judged: j,
    differences: [],
  };
}
