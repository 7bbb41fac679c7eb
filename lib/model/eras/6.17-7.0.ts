// Era 6.17-7.0: all validity checks (EFAULT range, EAGAIN mlock, ENOMEM
// RLIMIT_AS/DATA, EINVAL) before (a); same-size MREMAP_FIXED moves may span
// several VMAs and holes. The early check is still "(map_count + 2) >= max - 3"
// in check_mremap_params(), now after the overlap EINVAL
// (docs/kernel/eras.md#era-6-17-7-0).
import { EARLY_5_1, MOVE_VMA } from '../rules.js';
import { Run } from '../steps.js';
import type { EraModel } from './index.js';
import { mremapAfter617 } from './after-6.17.js';

export const era617to70: EraModel = (state, call, env) =>
  Run.predict(state, call, env, (r) =>
    mremapAfter617(r, {
      early: { rule: EARLY_5_1, where: 'params' },
      move: MOVE_VMA,
      // Measured on 6.18: lengths that round to the same pages pass.
      roundedDontunmap: true,
      // vrm_stat_account() before dontunmap_complete(): locked_vm gains new_len.
      dontunmapLocked: { splitFirst: false, addNew: true },
    }),
  );
