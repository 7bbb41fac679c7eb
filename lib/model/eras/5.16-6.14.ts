// Era 5.16-6.14: the old-VMA lookup (EFAULT) moves into the syscall, before
// (a) (550a7d60bd5e, hugetlb mremap support). In 5.16 and 5.17 it was written
// "ret = EFAULT", so a missing old VMA returned +14 until 7d1e6496616275f3
// (5.18-rc7). The rest of the checks stay after (a)
// (docs/kernel/eras.md#era-5-16-6-14).
import { EARLY_5_1, MOVE_VMA } from '../rules.js';
import { Run } from '../steps.js';
import { atLeast, type ModelReturn } from '../types.js';
import type { EraModel } from './index.js';
import type { KernelVersion } from '../../kernel.js';
import type { MergePolicy } from '../vmas.js';

function body(r: Run): ModelReturn {
  const v = r.env.version;
  r.entryChecks('SYSCALL_DEFINE5(mremap)', { dontunmapKnown: true });
  r.note('mmap_write_lock_killable()', 'takes the mmap lock');
  r.lookupOld('SYSCALL_DEFINE5(mremap): vma_lookup()', r.call, 'before anything is unmapped', {
    positive: !atLeast(v, 5, 18),
  });
  const move = {
    mapCount: MOVE_VMA,
    charge: { where: 'move-delta' },
    // The locked_vm fix was backported to 6.12.114: the locked old range is split off first.
    dontunmapLocked: { splitFirst: v[0] === 6 && v[1] === 12 && v[2] >= 114, addNew: false },
  } as const;
  if (!r.fixed && !r.dontunmap) {
    return r.inPlace('SYSCALL_DEFINE5(mremap)', { lookupDone: true, resizeCharges: false, move });
  }
  r.newAddrChecks('mremap_to()');
  r.overlap('mremap_to()');
  r.mapCountCheck('mremap_to()', EARLY_5_1, 'under the lock, before unmapping anything');
  if (r.fixed) r.unmapDestination('mremap_to()', r.call);
  const call = r.unmapTail('mremap_to()', r.call);
  const fn = atLeast(v, 6, 13) ? 'mremap_to(): resize_is_valid()' : 'mremap_to(): vma_to_resize()';
  const vma = r.lookupOld(fn, call, 'again, after (a) and (b)');
  r.resizeChecks(fn, vma, call, { dontunmap: 'not-special' });
  r.dontunmapMayExpand('mremap_to()', call);
  const to = r.moveTarget('mremap_to()', call);
  const page = r.moveVma('move_vma()', { ...call, newAddr: to.page }, move);
  return { ok: true, page, picked: to.picked };
}

export const era516to614: EraModel = (state, call, env) => Run.predict(state, call, env, body);

/**
 * Merges (docs/merges.md#model-rules): from 6.1 the in-place grow merges with
 * the next VMA and, to 6.11, mmap_region() tries the next VMA first; from 6.7
 * mprotect() away from writable unaccounts an unfaulted anonymous VMA.
 */
export const era516to614Merges = (v: KernelVersion): MergePolicy => ({
  faultedIntoUnfaulted: false,
  growMergesNext: atLeast(v, 6, 1),
  mmapTriesNextFirst: atLeast(v, 6, 1) && !atLeast(v, 6, 12),
  unaccountUnfaultedOnMprotect: atLeast(v, 6, 7),
});
