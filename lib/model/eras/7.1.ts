// Era 7.1+ ("mm: improve map count checks"): the map-count check is redone
// under the mmap lock for every mremap call, failing when map_count + 4 > max
// (c >= M-3); the move-time check becomes map_count + 2 <= max
// (docs/kernel/eras.md#era-7-1).
// The fix of the locked_vm leak of MREMAP_DONTUNMAP (7.2.11, 7.3): a DONTUNMAP
// call needs one more VMA of room in both checks, and a DONTUNMAP move of an
// mlocked VMA splits it first and clears VM_LOCKED before accounting the copy
// (docs/kernel/checks.md#locked-map-count-check, docs/merges.md#dontunmap).
import { EVERY_CALL_7_1, EVERY_CALL_7_2_DONTUNMAP, SPLIT_7_1 } from '../rules.js';
import { Run } from '../steps.js';
import { hasFix } from '../types.js';
import type { EraModel } from './index.js';
import { mremapAfter617 } from './after-6.17.js';

export const era71: EraModel = (state, call, env) => {
  const fixed = hasFix(env.version, 7, 2, 11);
  return Run.predict(state, call, env, (r) =>
    mremapAfter617(r, {
      early: {
        rule: EVERY_CALL_7_1,
        where: 'locked-every-call',
        ...(fixed ? { dontunmapRule: EVERY_CALL_7_2_DONTUNMAP } : {}),
      },
      move: SPLIT_7_1,
      roundedDontunmap: true,
      dontunmapLocked: { splitFirst: fixed, addNew: !fixed },
    }),
  );
};
