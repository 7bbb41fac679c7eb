// Overlapping old and new ranges (EINVAL) under map-count pressure: which
// check wins tells 6.15-6.16 (early ENOMEM first) from the others.
import { oldPieces, OLD, WINDOW } from './geometry.js';
import type { Family, Scenario } from './types.js';

function overlap(): Scenario[] {
  return [null, -5].map((pressure) => ({
    id: `overlap/dst-overlap/old-whole/same@${pressure === null ? 'none' : `M${pressure}`}`,
    family: 'overlap',
    summary:
      'old and new ranges overlap: EINVAL, except 6.15-6.16 where the unlocked early check answers ENOMEM first under pressure',
    layout: oldPieces('whole', OLD, 2, 'anon'),
    call: { old: OLD, oldPages: 2, newPages: 2, flags: ['MAYMOVE', 'FIXED'], newAddr: OLD + 1 },
    pressure,
    windowPages: WINDOW,
  }));
}

export const overlapFamilies: Family[] = [
  {
    name: 'overlap',
    exercises:
      'flags / overlap EINVAL against the early map-count check (which comes first in 6.15-6.16)',
    scenarios: overlap(),
  },
];
