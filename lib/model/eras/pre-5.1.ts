// Era pre-5.1 (up to 5.0, all 4.19.y): no early map-count check. (a) and (b)
// run before every other check, and move_vma()'s "map_count >= max - 3" is
// reachable after them: the error the seed message is about
// (docs/kernel/eras.md#era-pre-5-1).
import { Run } from '../steps.js';
import type { EraModel } from './index.js';
import { mremapBefore516 } from './before-5.16.js';
import type { MergePolicy } from '../vmas.js';

export const pre51: EraModel = (state, call, env) =>
  Run.predict(state, call, env, (r) =>
    mremapBefore516(r, {
      lock: 'down_write_killable(&mm->mmap_sem)',
      dontunmapKnown: false,
      dontunmap: 'none',
      resizeCharges: true,
      moveCharge: { where: 'resize' },
    }),
  );

/** No merge rule of the later releases (docs/merges.md#model-rules). */
export const pre51Merges = (): MergePolicy => ({
  faultedIntoUnfaulted: false,
  growMergesNext: false,
  mmapTriesNextFirst: false,
  unaccountUnfaultedOnMprotect: false,
});
