// The mremap path from 6.17 on ("mm/mremap: check remap conditions earlier",
// "permit mremap() move of multiple VMAs"): every validity check of the old
// range, rlimits included, runs in check_prep_vma() before (a); same-size
// MREMAP_FIXED moves go through remap_move(), which moves each VMA of the old
// range in turn. Shared by the 6.17-7.0 and 7.1+ eras, which differ in their
// map-count checks.
import type { MapCountRule, Run } from '../steps.js';
import type { ModelReturn } from '../types.js';

export interface After617 {
  /** Where the early check sits: 6.17-7.0 in check_mremap_params() (c >= M-5, FIXED/DONTUNMAP only), 7.1 under the lock for every call (c >= M-3). */
  early: 'params' | 'locked-every-call';
  move: MapCountRule;
}

function moveOne(r: Run, o: After617, fn: string): number {
  if (r.fixed) r.unmapDestination(fn);
  r.lookupOld(`${fn}: vma_lookup()`, 'again, after (a)');
  r.unmapTail(fn);
  r.dontunmapMayExpand(fn);
  r.getUnmappedArea(fn);
  return r.moveVma('move_vma(): prep_move_vma()', o.move, {
    charge: true,
    chargeOriginalDelta: true,
  });
}

/** remap_move(): a same-size MREMAP_FIXED move, VMA by VMA. */
function remapMove(r: Run, o: After617): ModelReturn {
  const fn = 'remap_move()';
  const whole = { ...r.call };
  const start = whole.old;
  const end = whole.old + whole.oldLen;
  const vmas = r.state.within(start, end);
  if (vmas.length === 0 || vmas[0]!.start > start) {
    r.fail(fn, 'EFAULT', 'no VMA at the start of the old range: nothing is touched');
  }
  const pieces = vmas.map((v) => [Math.max(v.start, start), Math.min(v.end, end)] as const);
  const holes =
    pieces.reduce((n, [a], i) => n + (a > (i === 0 ? start : pieces[i - 1]![1]) ? 1 : 0), 0) +
    (pieces.at(-1)![1] < end ? 1 : 0);
  r.note(
    fn,
    pieces.length > 1 || holes
      ? `the old range holds ${pieces.length} VMA(s) and ${holes} hole(s): each VMA is moved on its own, holes are skipped`
      : 'the old range is one VMA',
  );
  for (const [a, b] of pieces) {
    r.call = {
      ...whole,
      old: a,
      oldLen: b - a,
      newLen: b - a,
      newAddr: whole.newAddr + (a - start),
    };
    const vma = r.lookupOld(`${fn}: check_prep_vma()`, `for the piece at ${r.pg(a)}`);
    r.resizeChecks(`${fn}: check_prep_vma()`, vma, { dontunmapRule: 'not-special' });
    moveOne(r, o, `${fn}: mremap_to()`);
  }
  r.call = whole;
  return { ok: true, page: whole.newAddr };
}

export function mremapAfter617(r: Run, o: After617): ModelReturn {
  r.checkMremapParams({ taskSizeAndOverlap: true });
  if (o.early === 'params' && (r.fixed || r.dontunmap)) {
    r.earlyMapCount('check_mremap_params()', 'ea2c3f6f', 'before taking the mmap lock');
  }
  r.note('do_mremap(): mmap_write_lock_killable()', 'takes the mmap lock');
  if (o.early === 'locked-every-call') {
    r.earlyMapCount('do_mremap(): check_map_count_against_split_early()', '7.1', '');
  }
  const c = r.call;
  if (r.fixed && c.oldLen === c.newLen) return remapMove(r, o);
  const fn = 'do_mremap(): check_prep_vma()';
  const vma = r.lookupOld(fn, 'before anything is unmapped');
  if (!r.fixed && !r.dontunmap) {
    // check_prep_vma() returns early for calls that neither grow nor move.
    return r.inPlace('mremap_at()', { lookupDone: true });
  }
  // For a shrink only [addr, addr + new_len) must lie in the VMA: the rest is unmapped anyway.
  r.resizeChecks(fn, vma, {
    dontunmapRule: 'not-special',
    crossingLen: Math.min(c.oldLen, c.newLen),
  });
  return { ok: true, page: moveOne(r, o, 'mremap_to()') };
}
