// The pieces of the kernel's mremap path that the eras share, each named after
// the kernel code it mirrors. An era file strings them together in its own
// order and hands each step the policy of its release (lib/model/eras/); no
// step looks at the kernel version itself. A step either passes (and may
// change the model's VMAs) or ends the call with an errno, recorded in the
// trace. The call is never changed: a step that shortens it returns a new one.
//
// Longer than the rest of lib/: the steps are one class, in the order the
// kernel takes them, so that a reader can hold it against mm/mremap.c.
import { MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE } from '../bits.js';
import type { MapCountRule } from './rules.js';
import type { ModelEnv, ModelReturn, MremapCall, Prediction, Step } from './types.js';
import { VmaSet, type ModelVma } from './vmas.js';

/** Thrown inside a run to end the call with an errno (or a non-error return). */
export class End {
  constructor(readonly ret: ModelReturn) {}
}

/** Which VMAs MREMAP_DONTUNMAP accepts (vma_to_resize() and successors). */
export type DontunmapRule =
  /** 5.7-5.12: private anonymous VMAs only. */
  | 'private-anon'
  /** 5.13+: anything but VM_DONTEXPAND/VM_PFNMAP. */
  | 'not-special'
  /** Where the flag is unknown or the check does not apply. */
  | 'none';

/**
 * What MREMAP_DONTUNMAP does to an mlocked source (docs/merges.md#dontunmap):
 * the old VMA loses VM_LOCKED on all of it, or (with the 2026 fix) only on
 * the old range, split off first; and locked_vm gains new_len when the move
 * accounts the new VMA before clearing the flag (6.15 until the fix), which
 * with the flag gone from the whole old VMA leaks.
 */
export interface DontunmapLocked {
  splitFirst: boolean;
  addNew: boolean;
}

/** Where the VM_ACCOUNT charge of a growing or DONTUNMAP move is made. */
export interface ChargePolicy {
  /**
   * - 'resize': vma_to_resize() charges new_len - old_len (to 5.14); move_vma() charges nothing,
   * - 'move-delta': move_vma() charges new_len - old_len, old_len as (b) left it (5.15-6.14),
   * - 'vrm-delta': vrm_calc_charge() charges vrm->delta, computed before (b) (6.15+).
   */
  where: 'resize' | 'move-delta' | 'vrm-delta';
  /** With 'resize': how move_vma() accounts the new VMA of a DONTUNMAP move: unchecked (5.7-5.10) or checked (5.11+). */
  dontunmap?: 'unchecked' | 'checked';
}

export class Run {
  readonly state: VmaSet;
  readonly trace: Step[] = [];
  readonly env: ModelEnv;
  /** The call as user space made it. */
  readonly call: Readonly<MremapCall>;

  constructor(state: VmaSet, call: MremapCall, env: ModelEnv) {
    this.state = state.clone();
    this.call = { ...call };
    this.env = env;
  }

  get M(): number {
    return this.env.maxMapCount;
  }
  get fixed(): boolean {
    return (this.call.flags & MREMAP_FIXED) !== 0;
  }
  get maymove(): boolean {
    return (this.call.flags & MREMAP_MAYMOVE) !== 0;
  }
  get dontunmap(): boolean {
    return (this.call.flags & MREMAP_DONTUNMAP) !== 0;
  }

  /** A page number as the trace prints it: W+n inside the window. */
  pg(p: number): string {
    const w = this.env.window;
    return w !== undefined && p >= w ? `W+${p - w}` : String(p);
  }

  note(fn: string, what: string, changed = false): void {
    this.trace.push(changed ? { fn, what, changed } : { fn, what });
  }

  fail(fn: string, errno: string, what: string): never {
    this.trace.push({ fn, what, errno });
    throw new End({ ok: false, errno });
  }

  /** Runs an era's body, turning End into the prediction. */
  static predict(
    state: VmaSet,
    call: MremapCall,
    env: ModelEnv,
    body: (r: Run) => ModelReturn,
  ): Prediction {
    const r = new Run(state, call, env);
    let ret: ModelReturn;
    try {
      ret = body(r);
    } catch (e) {
      if (!(e instanceof End)) throw e;
      ret = e.ret;
    }
    return { ret, state: r.state, trace: r.trace };
  }

  // --- checks before anything is locked or touched -----------------------

  /**
   * MREMAP_DONTUNMAP's old_len == new_len, as the release compares them: the
   * lengths as passed (to 6.16), or rounded to pages first (7.1+).
   */
  private dontunmapLengthsDiffer(rounded: boolean): boolean {
    const c = this.call;
    if (rounded || !c.raw) return c.oldLen !== c.newLen;
    const P = this.env.pageSize;
    return (c.raw.oldBytes ?? c.oldLen * P) !== (c.raw.newBytes ?? c.newLen * P);
  }

  /** SYSCALL_DEFINE5(mremap) up to 6.14: flags, the old address and the lengths. */
  entryChecks(fn: string, o: { dontunmapKnown: boolean }): void {
    const c = this.call;
    const known = MREMAP_MAYMOVE | MREMAP_FIXED | (o.dontunmapKnown ? MREMAP_DONTUNMAP : 0);
    if (c.flags & ~known) {
      this.fail(
        fn,
        'EINVAL',
        `flags 0x${c.flags.toString(16)} has bits this kernel does not know${o.dontunmapKnown ? '' : ' (MREMAP_DONTUNMAP came in 5.7)'}`,
      );
    }
    if (this.fixed && !this.maymove) this.fail(fn, 'EINVAL', 'MREMAP_FIXED without MREMAP_MAYMOVE');
    if (this.dontunmap && (!this.maymove || this.dontunmapLengthsDiffer(false))) {
      this.fail(fn, 'EINVAL', 'MREMAP_DONTUNMAP needs MREMAP_MAYMOVE and old_len == new_len');
    }
    if (c.raw?.addrOff) this.fail(fn, 'EINVAL', 'addr is not page-aligned');
    if (c.newLen === 0) this.fail(fn, 'EINVAL', 'new_len is 0');
    this.note(fn, 'flags, alignment and lengths are valid');
  }

  /** check_mremap_params() (6.15+); the early map-count check is a separate step. */
  checkMremapParams(o: { taskSizeAndOverlap: boolean; roundedDontunmap: boolean }): void {
    const fn = 'check_mremap_params()';
    const c = this.call;
    if (c.flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
      this.fail(fn, 'EINVAL', 'unknown flags');
    if (c.raw?.addrOff) this.fail(fn, 'EINVAL', 'addr is not page-aligned');
    if (c.newLen === 0) this.fail(fn, 'EINVAL', 'new_len is 0');
    if (o.taskSizeAndOverlap && c.newLen > this.env.taskSize)
      this.fail(fn, 'EINVAL', 'new_len > TASK_SIZE');
    if (!this.fixed && !this.dontunmap) {
      this.note(fn, 'no MREMAP_FIXED or MREMAP_DONTUNMAP: no new address to check');
      return;
    }
    if (c.raw?.newAddrOff) this.fail(fn, 'EINVAL', 'new_addr is not page-aligned');
    if (o.taskSizeAndOverlap && c.newAddr > this.env.taskSize - c.newLen) {
      this.fail(fn, 'EINVAL', 'new_addr + new_len > TASK_SIZE');
    }
    if (!this.maymove)
      this.fail(fn, 'EINVAL', 'MREMAP_FIXED/MREMAP_DONTUNMAP without MREMAP_MAYMOVE');
    if (this.dontunmap && this.dontunmapLengthsDiffer(o.roundedDontunmap))
      this.fail(fn, 'EINVAL', 'MREMAP_DONTUNMAP with old_len != new_len');
    if (o.taskSizeAndOverlap) this.overlap(fn);
    this.note(fn, 'parameters are valid');
  }

  /** new_addr alignment and TASK_SIZE (mremap_to() up to 6.16; 6.15-6.16 check the alignment earlier). */
  newAddrChecks(fn: string): void {
    const c = this.call;
    if (c.raw?.newAddrOff) this.fail(fn, 'EINVAL', 'new_addr is not page-aligned');
    if (c.newLen > this.env.taskSize || c.newAddr > this.env.taskSize - c.newLen) {
      this.fail(fn, 'EINVAL', 'new range beyond TASK_SIZE');
    }
  }

  /** The old and new ranges overlap. */
  overlap(fn: string): void {
    const c = this.call;
    if (c.old + c.oldLen > c.newAddr && c.newAddr + c.newLen > c.old) {
      this.fail(
        fn,
        'EINVAL',
        `old [${this.pg(c.old)}, +${c.oldLen}) and new [${this.pg(c.newAddr)}, +${c.newLen}) pages overlap`,
      );
    }
    this.note(fn, 'old and new ranges do not overlap');
  }

  /** A map-count check before anything is unmapped (the era says which rule, and where it sits). */
  mapCountCheck(fn: string, rule: MapCountRule, where: string): void {
    const c = this.state.mapCount;
    if (rule.fails(c, this.M)) this.fail(fn, 'ENOMEM', rule.failText(c, this.M, where));
    this.note(fn, rule.passText(c, this.M, where));
  }

  /**
   * vma_lookup(addr): the VMA at the call's old address, or EFAULT.
   * `positive` is 5.16's "ret = EFAULT" without the minus: the call returns +14.
   */
  lookupOld(fn: string, call: MremapCall, where: string, o: { positive?: boolean } = {}): ModelVma {
    const v = this.state.lookup(call.old);
    if (!v) {
      if (o.positive) {
        this.trace.push({
          fn,
          what: `no VMA at the old address ${where}: "ret = EFAULT" without the minus, so the call returns 14 as if it were an address`,
        });
        throw new End({ ok: true, raw: 14 });
      }
      this.fail(fn, 'EFAULT', `no VMA at the old address ${where}`);
    }
    this.note(fn, `old address is inside VMA [${this.pg(v.start)}, ${this.pg(v.end)}) ${where}`);
    return v;
  }

  // --- the unmaps ----------------------------------------------------------

  /** (a): do_munmap(new_addr, new_len). */
  unmapDestination(fn: string, call: MremapCall): void {
    const at = `${fn}: (a) do_munmap(new_addr, new_len)`;
    const before = this.state.within(call.newAddr, call.newAddr + call.newLen).length;
    const r = this.state.munmap(call.newAddr, call.newAddr + call.newLen, this.M);
    if (!r.ok) this.fail(at, r.errno!, r.detail);
    this.note(
      at,
      before
        ? `destination unmapped: ${r.detail}; map_count now ${this.state.mapCount}`
        : `destination was free: ${r.detail}`,
      before > 0,
    );
  }

  /** (b): shrinking: do_munmap(addr + new_len, old_len - new_len); returns the call with old_len = new_len. */
  unmapTail(fn: string, call: MremapCall): MremapCall {
    if (call.oldLen <= call.newLen) return call;
    const at = `${fn}: (b) do_munmap(addr + new_len, old_len - new_len)`;
    const start = call.old + call.newLen;
    const end = call.old + call.oldLen;
    const before = this.state.within(start, end).length;
    const r = this.state.munmap(start, end, this.M);
    if (!r.ok) this.fail(at, r.errno!, r.detail);
    this.note(
      at,
      `old tail unmapped: ${r.detail}; map_count now ${this.state.mapCount}`,
      before > 0,
    );
    return { ...call, oldLen: call.newLen };
  }

  // --- the validity checks of vma_to_resize() / resize_is_valid() / check_prep_vma()

  /**
   * The body shared by vma_to_resize() (to 6.12), resize_is_valid() (6.13-6.16)
   * and check_prep_vma() (6.17+): the old range inside its VMA, the VMA type
   * for MREMAP_DONTUNMAP, and for a grow RLIMIT_MEMLOCK, RLIMIT_AS/DATA and,
   * where the release charges here, the VM_ACCOUNT charge.
   */
  resizeChecks(
    fn: string,
    vma: ModelVma,
    call: MremapCall,
    o: { dontunmap: DontunmapRule; charge?: boolean; crossingLen?: number },
  ): void {
    if (call.oldLen === 0 && !vma.shared) this.fail(fn, 'EINVAL', 'old_len 0 on a private mapping');
    if (
      this.dontunmap &&
      o.dontunmap === 'private-anon' &&
      (vma.backing.kind !== 'anon' || vma.shared)
    ) {
      this.fail(fn, 'EINVAL', 'MREMAP_DONTUNMAP on a VMA that is not private anonymous (5.7-5.12)');
    }
    // VM_DONTEXPAND/VM_PFNMAP never occur in the probe's layouts.
    const len = o.crossingLen ?? call.oldLen;
    if (len > vma.end - call.old) {
      this.fail(
        fn,
        'EFAULT',
        `the old range (${len} pages) runs past the end of its VMA (${vma.end - call.old} pages left): "can't remap across vm area boundaries"`,
      );
    }
    if (call.newLen <= call.oldLen) {
      this.note(fn, 'the old range lies inside one VMA; not growing, no limits to check');
      return;
    }
    const delta = call.newLen - call.oldLen;
    if (
      vma.locked &&
      !this.env.capIpcLock &&
      this.state.lockedVm + delta > this.env.rlimitMemlock
    ) {
      this.fail(
        fn,
        'EAGAIN',
        `mlocked VMA grows by ${delta} pages: locked_vm ${this.state.lockedVm} + ${delta} > RLIMIT_MEMLOCK ${this.env.rlimitMemlock} pages`,
      );
    }
    this.mayExpand(fn, vma, delta);
    if (o.charge) this.charge(fn, vma, delta);
    this.note(fn, `growing by ${delta} pages is within the limits`);
  }

  /** may_expand_vm(): RLIMIT_AS on total_vm, RLIMIT_DATA on data_vm for private writable VMAs. */
  mayExpand(fn: string, vma: ModelVma, pages: number): void {
    const s = this.state;
    if (s.totalVm + pages > this.env.rlimitAs) {
      this.fail(
        fn,
        'ENOMEM',
        `may_expand_vm(): total_vm ${s.totalVm} + ${pages} > RLIMIT_AS ${this.env.rlimitAs} pages`,
      );
    }
    if (VmaSet.isData(vma) && s.dataVm + pages > this.env.rlimitData) {
      this.fail(
        fn,
        'ENOMEM',
        `may_expand_vm(): data_vm ${s.dataVm} + ${pages} > RLIMIT_DATA ${this.env.rlimitData} pages`,
      );
    }
  }

  /** MREMAP_DONTUNMAP: may_expand_vm(old_len), the old VMA staying mapped. */
  dontunmapMayExpand(fn: string, call: MremapCall): void {
    if (!this.dontunmap) return;
    const vma = this.state.lookup(call.old);
    if (!vma) return;
    this.mayExpand(fn, vma, call.oldLen);
    this.note(fn, `MREMAP_DONTUNMAP: may_expand_vm(old_len ${call.oldLen} pages) passes`);
  }

  /** security_vm_enough_memory_mm(): the VM_ACCOUNT charge, by overcommit mode. */
  charge(fn: string, vma: ModelVma, pages: number): void {
    if (!vma.account || pages <= 0) return;
    const o = this.env.overcommit;
    if (o.mode === 0 && pages > o.totalPages) {
      this.fail(
        fn,
        'ENOMEM',
        `VM_ACCOUNT charge of ${pages} pages > RAM + swap (${o.totalPages} pages), overcommit heuristic`,
      );
    }
    if (o.mode === 2 && o.committed + pages > o.commitLimit) {
      this.fail(
        fn,
        'ENOMEM',
        `VM_ACCOUNT charge: committed ${o.committed} + ${pages} > CommitLimit ${o.commitLimit} pages`,
      );
    }
    this.state.committed += pages;
    this.note(fn, `VM_ACCOUNT charge of ${pages} pages is allowed`);
  }

  /**
   * get_unmapped_area(): where the move goes. With MREMAP_FIXED new_addr
   * itself, refused below vm.mmap_min_addr without CAP_SYS_RAWIO
   * (security_mmap_addr(), EPERM); otherwise new_addr is a hint the
   * allocator takes when the range is free (MREMAP_DONTUNMAP), or the kernel
   * picks any free range (the model puts it at env.picked).
   */
  moveTarget(fn: string, call: MremapCall): { page: number; picked: boolean } {
    const at = `${fn}: get_unmapped_area()`;
    if (this.fixed) {
      const addrBytes = call.newAddr * this.env.pageSize;
      if (addrBytes < this.env.mmapMinAddr && !this.env.capSysRawio) {
        this.fail(
          `${at} -> security_mmap_addr()`,
          'EPERM',
          `new_addr 0x${addrBytes.toString(16)} < vm.mmap_min_addr ${this.env.mmapMinAddr} and no CAP_SYS_RAWIO`,
        );
      }
      this.note(at, 'the new address is acceptable');
      return { page: call.newAddr, picked: false };
    }
    const hint = this.dontunmap ? call.newAddr : 0;
    if (
      hint !== 0 &&
      hint * this.env.pageSize >= this.env.mmapMinAddr &&
      this.state.within(hint, hint + call.newLen).length === 0
    ) {
      this.note(at, `the hint ${this.pg(hint)} is free: the new range goes there`);
      return { page: hint, picked: false };
    }
    if (this.env.picked === undefined) {
      throw new Error('the model needs a place for a move to an address the kernel picks');
    }
    this.note(at, 'the kernel picks a free range (its address is not predicted)');
    return { page: this.env.picked, picked: true };
  }

  // --- the move ------------------------------------------------------------

  /**
   * move_vma(): its own map-count check, the VM_ACCOUNT charge where the
   * release makes it here, copy_vma() and the page-table move to
   * `call.newAddr`, then the old range is unmapped; with MREMAP_DONTUNMAP the
   * old VMA stays mapped, emptied of private pages and no longer locked
   * (see DontunmapLocked). `call` is the call as (b) left it.
   */
  moveVma(
    fn: string,
    call: MremapCall,
    o: { mapCount: MapCountRule; charge: ChargePolicy; dontunmapLocked?: DontunmapLocked },
  ): number {
    const s = this.state;
    const vma = s.lookup(call.old)!;
    const rule = o.mapCount;
    const locked = o.dontunmapLocked ?? { splitFirst: false, addNew: false };
    const extra = locked.splitFirst && this.dontunmap && vma.locked ? 1 : 0;
    // 7.2 asks for one more VMA of room for a DONTUNMAP move of an mlocked VMA, which it splits.
    if (rule.fails(s.mapCount + extra, this.M)) {
      this.fail(fn, 'ENOMEM', rule.failText(s.mapCount + extra, this.M, ''));
    }
    this.note(fn, rule.passText(s.mapCount, this.M, ''));
    this.moveCharge(fn, vma, call, o.charge);
    const to = this.pg(call.newAddr);
    if (this.dontunmap) {
      if (locked.splitFirst && vma.locked) {
        s.splitAt(call.old);
        s.splitAt(call.old + call.oldLen);
      }
      const src = s.lookup(call.old)!;
      const wasLocked = src.locked;
      // copy_vma() counts the copy in locked_vm when it is locked.
      s.copyAndMove(src, call.old, call.newAddr, call.oldLen, call.newLen);
      s.dropPages(call.old, call.old + call.oldLen);
      if (wasLocked) {
        src.locked = false;
        // Up to 6.14, and with the fix, locked_vm is left as it was ("we won't unmap").
        if (!locked.addNew) s.lockedVm -= call.newLen;
      }
      this.note(
        fn,
        `copy_vma() + move_page_tables(): moved to ${to}; MREMAP_DONTUNMAP keeps the old VMA, empty; map_count now ${s.mapCount}`,
        true,
      );
      return call.newAddr;
    }
    // The old range must be a single VMA piece here.
    s.splitAt(call.old);
    s.splitAt(call.old + call.oldLen);
    const src = s.lookup(call.old)!;
    s.copyAndMove(src, call.old, call.newAddr, call.oldLen, call.newLen);
    // The charge moved with the pages: move_vma() clears VM_ACCOUNT on the
    // old range before do_munmap(), whose failure it ignores.
    src.account = false;
    s.munmap(call.old, call.old + call.oldLen, Infinity);
    this.note(
      fn,
      `copy_vma() + move_page_tables(): moved to ${to}, old range unmapped; map_count now ${s.mapCount}`,
      true,
    );
    return call.newAddr;
  }

  private moveCharge(fn: string, vma: ModelVma, call: MremapCall, o: ChargePolicy): void {
    if (o.where === 'resize') {
      if (!this.dontunmap || !vma.account) return;
      if (o.dontunmap === 'checked') {
        // 5.11-5.14: move_vma() charges the new VMA of a DONTUNMAP move, and may refuse.
        this.charge(fn, vma, call.newLen);
      } else {
        // 5.7-5.10: vm_acct_memory(new_len) after the move, unchecked.
        this.state.committed += call.newLen;
        this.note(
          fn,
          `vm_acct_memory(${call.newLen} pages) for the new VMA of a DONTUNMAP move, unchecked`,
        );
      }
      return;
    }
    if (this.dontunmap) {
      this.charge(fn, vma, call.newLen);
      return;
    }
    // Up to 6.14 the charge is new_len - old_len with old_len already cut by
    // (b); vrm_calc_charge() (6.15+) charges vrm->delta, set before (b).
    const original = Math.abs(this.call.oldLen - this.call.newLen);
    if (o.where === 'vrm-delta') {
      if (call.newLen - call.oldLen !== original) {
        this.note(
          fn,
          `charges ${original} pages (vrm->delta ${original}, computed before (b) cut old_len)`,
        );
      }
      this.charge(fn, vma, original);
    } else this.charge(fn, vma, call.newLen - call.oldLen);
  }

  // --- paths without a new address --------------------------------------------

  /**
   * Calls without MREMAP_FIXED or MREMAP_DONTUNMAP: the same-size no-op, the
   * in-place shrink (munmap of the tail, whatever it covers), and the grow:
   * in place when the old range ends at its VMA's end and the room after it
   * is free (vma_expandable), else with MREMAP_MAYMOVE a move to an address
   * the kernel picks, else ENOMEM.
   */
  inPlace(
    fn: string,
    o: {
      lookupDone: boolean;
      /** vma_to_resize() charges a grow (to 5.14). */
      resizeCharges: boolean;
      move: { mapCount: MapCountRule; charge: ChargePolicy };
    },
  ): ModelReturn {
    const c = this.call;
    const s = this.state;
    if (c.oldLen === c.newLen) {
      this.note(fn, 'same size: returns the address, nothing to do');
      return { ok: true, page: c.old };
    }
    if (c.newLen < c.oldLen) {
      const at = `${fn}: do_munmap(addr + new_len, old_len - new_len)`;
      const r = s.munmap(c.old + c.newLen, c.old + c.oldLen, this.M);
      if (!r.ok) this.fail(at, r.errno!, r.detail);
      this.note(at, `shrunk in place: ${r.detail}; map_count now ${s.mapCount}`, true);
      return { ok: true, page: c.old };
    }
    const vma = o.lookupDone
      ? s.lookup(c.old)!
      : this.lookupOld(`${fn}: vma_to_resize()`, c, 'for the grow');
    this.resizeChecks(`${fn}: vma_to_resize()`, vma, c, {
      dontunmap: 'none',
      charge: o.resizeCharges,
    });
    const delta = c.newLen - c.oldLen;
    const free = s.within(vma.end, vma.end + delta).length === 0;
    if (c.old + c.oldLen === vma.end && free) {
      if (!o.resizeCharges) this.charge(fn, vma, delta);
      s.expand(vma, vma.end + delta);
      this.note(
        fn,
        `grown in place by ${delta} pages (vma_expandable); map_count ${s.mapCount}`,
        true,
      );
      return { ok: true, page: c.old };
    }
    if (!this.maymove)
      this.fail(fn, 'ENOMEM', 'cannot grow in place and MREMAP_MAYMOVE is not set');
    const target = this.moveTarget(fn, c);
    const page = this.moveVma('move_vma()', { ...c, newAddr: target.page }, o.move);
    return { ok: true, page, picked: target.picked };
  }
}
