// Era 6.15-6.16: the mremap refactor (struct vma_remap_struct). The early
// map-count check moves into check_mremap_params(), before the mmap lock is
// taken, and so ahead of the overlap EINVAL that mremap_to() still makes.
// remap_is_valid() (resize_is_valid() before the refactor) still runs after
// (a) and (b); vrm_calc_charge() charges
// vrm->delta, computed before (b) (docs/kernel/eras.md#era-6-15-6-16).
import { EARLY_5_1, MOVE_VMA } from '../rules.js';
import { Run } from '../steps.js';
import type { ModelReturn } from '../types.js';
import type { EraModel } from './index.js';
import type { MergePolicy } from '../vmas.js';
import { atLeast } from '../types.js';
import type { KernelVersion } from '../../kernel.js';

function body(r: Run): ModelReturn {
  r.checkMremapParams({ taskSizeAndOverlap: false, roundedDontunmap: false });
  if (r.fixed || r.dontunmap) {
    r.mapCountCheck('check_mremap_params()', EARLY_5_1, 'before taking the mmap lock');
  }
  r.note('do_mremap(): mmap_write_lock_killable()', 'takes the mmap lock');
  r.lookupOld('do_mremap(): vma_lookup()', r.call, 'before anything is unmapped');
  // vrm_stat_account() before dontunmap_complete(): locked_vm gains new_len.
  const move = {
    mapCount: MOVE_VMA,
    charge: { where: 'vrm-delta' },
    dontunmapLocked: { splitFirst: false, addNew: true },
  } as const;
  if (!r.fixed && !r.dontunmap) {
    return r.inPlace('mremap_at()', { lookupDone: true, resizeCharges: false, move });
  }
  r.newAddrChecks('mremap_to()');
  r.overlap('mremap_to()');
  if (r.fixed) r.unmapDestination('mremap_to()', r.call);
  const call = r.unmapTail('mremap_to(): shrink_vma()', r.call);
  const vma = r.lookupOld('mremap_to(): remap_is_valid()', call, 'again, after (a) and (b)');
  r.resizeChecks('mremap_to(): remap_is_valid()', vma, call, { dontunmap: 'not-special' });
  r.dontunmapMayExpand('mremap_to()', call);
  const to = r.moveTarget('mremap_to(): vrm_set_new_addr()', call);
  const page = r.moveVma('move_vma(): prep_move_vma()', { ...call, newAddr: to.page }, move);
  return { ok: true, page, picked: to.picked };
}

export const era615to616: EraModel = (state, call, env) => Run.predict(state, call, env, body);

/** Merges: from 6.16 a faulted VMA may merge into an unfaulted neighbour (879bca0a2c4f). */
export const era615to616Merges = (v: KernelVersion): MergePolicy => ({
  faultedIntoUnfaulted: atLeast(v, 6, 16),
  growMergesNext: true,
  mmapTriesNextFirst: false,
  unaccountUnfaultedOnMprotect: true,
});
