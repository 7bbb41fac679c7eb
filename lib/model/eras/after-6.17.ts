// The mremap path from 6.17 on ("mm/mremap: check remap conditions earlier",
// "permit mremap() move of multiple VMAs"): every validity check of the old
// range, rlimits included, runs in check_prep_vma() before (a); same-size
// MREMAP_FIXED moves go through remap_move(), which moves each VMA of the old
// range in turn (docs/kernel/eras.md#era-6-17-7-0). Shared by the 6.17-7.0
// and 7.1+ eras, which differ in their map-count checks.
import type { MapCountRule } from '../rules.js';
import type { DontunmapLocked, Run } from '../steps.js';
import type { ModelReturn, MremapCall } from '../types.js';

export interface After617 {
  /**
   * Where the early check sits: in check_mremap_params() (FIXED/DONTUNMAP
   * only), or under the lock for every call; `dontunmapRule` is 7.2's room
   * for one more VMA when MREMAP_DONTUNMAP is set.
   */
  early: {
    rule: MapCountRule;
    where: 'params' | 'locked-every-call';
    dontunmapRule?: MapCountRule;
  };
  /** move_vma()'s own check. */
  move: MapCountRule;
  /** MREMAP_DONTUNMAP's old_len == new_len on lengths rounded to pages (7.1+). */
  roundedDontunmap: boolean;
  /** What MREMAP_DONTUNMAP does to an mlocked source (the 2026 locked_vm fix, or not). */
  dontunmapLocked: DontunmapLocked;
}

function moveOne(
  r: Run,
  o: After617,
  fn: string,
  call: MremapCall,
): { page: number; picked: boolean } {
  if (r.fixed) r.unmapDestination(fn, call);
  r.lookupOld(`${fn}: vma_lookup()`, call, 'again, after (a)');
  const cut = r.unmapTail(fn, call);
  r.dontunmapMayExpand(fn, cut);
  const to = r.moveTarget(fn, cut);
  const page = r.moveVma(
    'move_vma(): prep_move_vma()',
    { ...cut, newAddr: to.page },
    {
      mapCount: o.move,
      charge: { where: 'vrm-delta' },
      dontunmapLocked: o.dontunmapLocked,
    },
  );
  return { page, picked: to.picked };
}

/** remap_move(): a same-size MREMAP_FIXED move, VMA by VMA. */
function remapMove(r: Run, o: After617): ModelReturn {
  const fn = 'remap_move()';
  const whole = r.call;
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
    const call: MremapCall = {
      ...whole,
      old: a,
      oldLen: b - a,
      newLen: b - a,
      newAddr: whole.newAddr + (a - start),
    };
    const vma = r.lookupOld(`${fn}: check_prep_vma()`, call, `for the piece at ${r.pg(a)}`);
    r.resizeChecks(`${fn}: check_prep_vma()`, vma, call, { dontunmap: 'not-special' });
    moveOne(r, o, `${fn}: mremap_to()`, call);
  }
  return { ok: true, page: whole.newAddr };
}

export function mremapAfter617(r: Run, o: After617): ModelReturn {
  r.checkMremapParams({ taskSizeAndOverlap: true, roundedDontunmap: o.roundedDontunmap });
  if (o.early.where === 'params' && (r.fixed || r.dontunmap)) {
    r.mapCountCheck('check_mremap_params()', o.early.rule, 'before taking the mmap lock');
  }
  r.note('do_mremap(): mmap_write_lock_killable()', 'takes the mmap lock');
  if (o.early.where === 'locked-every-call') {
    const rule = r.dontunmap && o.early.dontunmapRule ? o.early.dontunmapRule : o.early.rule;
    r.mapCountCheck('do_mremap(): check_map_count_against_split_early()', rule, '');
  }
  const c = r.call;
  if (r.fixed && c.oldLen === c.newLen) return remapMove(r, o);
  const fn = 'do_mremap(): check_prep_vma()';
  const vma = r.lookupOld(fn, c, 'before anything is unmapped');
  if (!r.fixed && !r.dontunmap) {
    // check_prep_vma() returns early for calls that neither grow nor move.
    return r.inPlace('mremap_at()', {
      lookupDone: true,
      resizeCharges: false,
      move: { mapCount: o.move, charge: { where: 'vrm-delta' } },
    });
  }
  // For a shrink only [addr, addr + new_len) must lie in the VMA: the rest is unmapped anyway.
  r.resizeChecks(fn, vma, c, {
    dontunmap: 'not-special',
    crossingLen: Math.min(c.oldLen, c.newLen),
  });
  return { ok: true, ...moveOne(r, o, 'mremap_to()', c) };
}
