// The mremap path as it stood from 4.x to 5.15: mremap_to() unmaps the
// destination (a) and the old tail (b) before vma_to_resize() even looks up
// the old VMA (docs/kernel/eras.md#era-pre-5-1, #era-5-1-5-15). Shared by the
// pre-5.1 and 5.1-5.15 eras, whose files decide every version-dependent
// choice and pass it in.
import type { MapCountRule } from '../rules.js';
import { MOVE_VMA } from '../rules.js';
import type { ChargePolicy, DontunmapRule, Run } from '../steps.js';
import type { ModelReturn } from '../types.js';

export interface Before516 {
  /** The lock taken first, as the release names it. */
  lock: string;
  /** ea2c3f6f5545's early check in mremap_to() (5.1+), or none. */
  early?: MapCountRule;
  /** MREMAP_DONTUNMAP exists (5.7+). */
  dontunmapKnown: boolean;
  dontunmap: DontunmapRule;
  /** vma_to_resize() makes the VM_ACCOUNT charge (to 5.14; fdbef6149135 moved it to move_vma() in 5.15). */
  resizeCharges: boolean;
  moveCharge: ChargePolicy;
}

export function mremapBefore516(r: Run, o: Before516): ModelReturn {
  const fn0 = 'SYSCALL_DEFINE5(mremap)';
  r.entryChecks(fn0, { dontunmapKnown: o.dontunmapKnown });
  r.note(o.lock, 'takes the mmap lock');
  if (!r.fixed && !(o.dontunmapKnown && r.dontunmap)) {
    // The shrink and same-size branch runs before any VMA lookup.
    return r.inPlace(fn0, {
      lookupDone: false,
      resizeCharges: o.resizeCharges,
      move: { mapCount: MOVE_VMA, charge: o.moveCharge },
    });
  }
  r.newAddrChecks('mremap_to()');
  r.overlap('mremap_to()');
  if (o.early) r.mapCountCheck('mremap_to()', o.early, 'before unmapping anything');
  if (r.fixed) r.unmapDestination('mremap_to()', r.call);
  const call = r.unmapTail('mremap_to()', r.call);
  const fn = 'mremap_to(): vma_to_resize()';
  const vma = r.lookupOld(fn, call, 'looked up only now, after (a) and (b)');
  r.resizeChecks(fn, vma, call, { dontunmap: o.dontunmap, charge: o.resizeCharges });
  r.dontunmapMayExpand('mremap_to()', call);
  const to = r.moveTarget('mremap_to()', call);
  const page = r.moveVma(
    'move_vma()',
    { ...call, newAddr: to.page },
    {
      mapCount: MOVE_VMA,
      charge: o.moveCharge,
    },
  );
  return { ok: true, page, picked: to.picked };
}
