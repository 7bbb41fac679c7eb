// The mremap path as it stood from 4.x to 5.15: mremap_to() unmaps the
// destination (a) and the old tail (b) before vma_to_resize() even looks up
// the old VMA. Shared by the pre-5.1 and 5.1-5.15 eras, which differ by the
// early map-count check of ea2c3f6f5545 ("mm,mremap: bail out earlier in
// mremap_to under map pressure", 5.1).
import type { Run } from '../steps.js';
import { atLeast, type ModelReturn } from '../types.js';

export function mremapBefore516(r: Run, opts: { earlyCheck: boolean }): ModelReturn {
  const v = r.env.version;
  r.entryChecks('SYSCALL_DEFINE5(mremap)');
  r.note(
    atLeast(v, 5, 8) ? 'mmap_write_lock_killable()' : 'down_write_killable(&mm->mmap_sem)',
    'takes the mmap lock',
  );
  const dontunmapKnown = atLeast(v, 5, 7);
  if (!r.fixed && !(dontunmapKnown && r.dontunmap)) {
    // The shrink and same-size branch runs before any VMA lookup.
    return r.inPlace('SYSCALL_DEFINE5(mremap)', { lookupDone: false });
  }
  r.newAddrChecks('mremap_to()');
  r.overlap('mremap_to()');
  if (opts.earlyCheck) r.earlyMapCount('mremap_to()', 'ea2c3f6f', 'before unmapping anything');
  if (r.fixed) r.unmapDestination('mremap_to()');
  r.unmapTail('mremap_to()');
  const fn = 'mremap_to(): vma_to_resize()';
  const vma = r.lookupOld(fn, 'looked up only now, after (a) and (b)');
  r.resizeChecks(fn, vma, {
    dontunmapRule: !dontunmapKnown ? 'none' : atLeast(v, 5, 13) ? 'not-special' : 'private-anon',
    // The VM_ACCOUNT charge sat in vma_to_resize() until 5.15 (fdbef6149135) moved it to move_vma().
    charge: !atLeast(v, 5, 15),
  });
  r.dontunmapMayExpand('mremap_to()');
  r.getUnmappedArea('mremap_to()');
  return { ok: true, page: r.moveVma('move_vma()', 'ge-M-3', { charge: atLeast(v, 5, 15) }) };
}
