// Era 6.15-6.16: the mremap refactor (struct vma_remap_struct). The early
// map-count check moves into check_mremap_params(), before the mmap lock is
// taken, and so ahead of the overlap EINVAL that mremap_to() still makes.
// resize_is_valid() still runs after (a) and (b).
import { Run } from '../steps.js';
import type { ModelReturn } from '../types.js';
import type { EraModel } from './index.js';

function body(r: Run): ModelReturn {
  r.checkMremapParams({ taskSizeAndOverlap: false });
  if (r.fixed || r.dontunmap) {
    r.earlyMapCount('check_mremap_params()', 'ea2c3f6f', 'before taking the mmap lock');
  }
  r.note('do_mremap(): mmap_write_lock_killable()', 'takes the mmap lock');
  r.lookupOld('do_mremap(): vma_lookup()', 'before anything is unmapped');
  if (!r.fixed && !r.dontunmap) return r.inPlace('mremap_at()', { lookupDone: true });
  r.newAddrChecks('mremap_to()');
  r.overlap('mremap_to()');
  if (r.fixed) r.unmapDestination('mremap_to()');
  r.unmapTail('mremap_to(): shrink_vma()');
  const vma = r.lookupOld('mremap_to(): resize_is_valid()', 'again, after (a) and (b)');
  r.resizeChecks('mremap_to(): resize_is_valid()', vma, { dontunmapRule: 'not-special' });
  r.dontunmapMayExpand('mremap_to()');
  r.getUnmappedArea('mremap_to(): vrm_set_new_addr()');
  return {
    ok: true,
    page: r.moveVma('move_vma(): prep_move_vma()', 'ge-M-3', {
      charge: true,
      chargeOriginalDelta: true,
    }),
  };
}

export const era615to616: EraModel = (state, call, env) => Run.predict(state, call, env, body);
