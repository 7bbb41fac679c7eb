// The pieces of the kernel's mremap path that the eras share, each named after
// the kernel code it mirrors. An era file strings them together in its own
// order (lib/model/eras/). A step either passes (and may change the model's
// VMAs) or ends the call with an errno, recorded in the trace.
import {
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  atLeast,
  type ModelEnv,
  type ModelReturn,
  type MremapCall,
  type Prediction,
  type Step,
} from './types.js';
import { VmaSet, type ModelVma } from './vmas.js';

/** Thrown inside a run to end the call with an errno (or a non-error return). */
export class End {
  constructor(readonly ret: ModelReturn) {}
}

export type MapCountRule =
  /** move_vma() up to 7.0: fail when map_count >= M - 3. */
  | 'ge-M-3'
  /** 7.1+: check_map_count_against_split(): fail when map_count + 2 > M. */
  | 'plus2-gt-M';

export class Run {
  readonly state: VmaSet;
  readonly trace: Step[] = [];
  readonly env: ModelEnv;
  /** The call as it stands: (b) shortens oldLen. */
  call: MremapCall;
  /** |old_len - new_len| as the call was made (vrm->delta from 6.15 on). */
  readonly originalDelta: number;

  constructor(state: VmaSet, call: MremapCall, env: ModelEnv) {
    this.state = state.clone();
    this.call = { ...call };
    this.env = env;
    this.originalDelta = Math.abs(call.oldLen - call.newLen);
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

  finish(ret: ModelReturn): Prediction {
    return { ret, state: this.state, trace: this.trace };
  }

  /** Runs an era's body, turning End into the prediction. */
  static predict(
    state: VmaSet,
    call: MremapCall,
    env: ModelEnv,
    body: (r: Run) => ModelReturn,
  ): Prediction {
    const r = new Run(state, call, env);
    try {
      return r.finish(body(r));
    } catch (e) {
      if (e instanceof End) return r.finish(e.ret);
      throw e;
    }
  }

  // --- checks before anything is locked or touched -----------------------

  /** SYSCALL_DEFINE5(mremap) up to 6.14: flags, lengths and the old address. */
  entryChecks(fn = 'SYSCALL_DEFINE5(mremap)'): void {
    const c = this.call;
    const dontunmapKnown = atLeast(this.env.version, 5, 7);
    const known = MREMAP_MAYMOVE | MREMAP_FIXED | (dontunmapKnown ? MREMAP_DONTUNMAP : 0);
    if (c.flags & ~known) {
      this.fail(
        fn,
        'EINVAL',
        `flags 0x${c.flags.toString(16)} has bits this kernel does not know${dontunmapKnown ? '' : ' (MREMAP_DONTUNMAP came in 5.7)'}`,
      );
    }
    if (this.fixed && !this.maymove) this.fail(fn, 'EINVAL', 'MREMAP_FIXED without MREMAP_MAYMOVE');
    if (this.dontunmap && (!this.maymove || c.oldLen !== c.newLen)) {
      this.fail(fn, 'EINVAL', 'MREMAP_DONTUNMAP needs MREMAP_MAYMOVE and old_len == new_len');
    }
    if (c.newLen === 0) this.fail(fn, 'EINVAL', 'new_len is 0');
    this.note(fn, 'flags, alignment and lengths are valid');
  }

  /** check_mremap_params() (6.15+); the early map-count check is a separate step. */
  checkMremapParams(opts: { taskSizeAndOverlap: boolean }): void {
    const fn = 'check_mremap_params()';
    const c = this.call;
    if (c.flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
      this.fail(fn, 'EINVAL', 'unknown flags');
    if (c.newLen === 0) this.fail(fn, 'EINVAL', 'new_len is 0');
    if (opts.taskSizeAndOverlap && c.newLen > this.env.taskSize)
      this.fail(fn, 'EINVAL', 'new_len > TASK_SIZE');
    if (!this.fixed && !this.dontunmap) {
      this.note(fn, 'no MREMAP_FIXED or MREMAP_DONTUNMAP: no new address to check');
      return;
    }
    if (opts.taskSizeAndOverlap && c.newAddr > this.env.taskSize - c.newLen) {
      this.fail(fn, 'EINVAL', 'new_addr + new_len > TASK_SIZE');
    }
    if (!this.maymove)
      this.fail(fn, 'EINVAL', 'MREMAP_FIXED/MREMAP_DONTUNMAP without MREMAP_MAYMOVE');
    if (this.dontunmap && c.oldLen !== c.newLen)
      this.fail(fn, 'EINVAL', 'MREMAP_DONTUNMAP with old_len != new_len');
    if (opts.taskSizeAndOverlap) this.overlap(fn);
    this.note(fn, 'parameters are valid');
  }

  /** new_addr alignment and TASK_SIZE (mremap_to() up to 6.16). */
  newAddrChecks(fn = 'mremap_to()'): void {
    const c = this.call;
    if (c.newLen > this.env.taskSize || c.newAddr > this.env.taskSize - c.newLen) {
      this.fail(fn, 'EINVAL', 'new range beyond TASK_SIZE');
    }
  }

  /** The old and new ranges overlap. */
  overlap(fn = 'mremap_to()'): void {
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

  /**
   * The early map-count check: "(map_count + 2) >= max - 3" (5.1 to 7.0,
   * fails at c >= M-5) or, from 7.1, "map_count + 4 > max" (c >= M-3).
   */
  earlyMapCount(fn: string, rule: 'ea2c3f6f' | '7.1', where: string): void {
    const c = this.state.mapCount;
    const M = this.M;
    if (rule === 'ea2c3f6f') {
      if (c + 2 >= M - 3) {
        this.fail(
          fn,
          'ENOMEM',
          `early map-count check ${where}: (map_count ${c} + 2) >= max_map_count ${M} - 3`,
        );
      }
      this.note(fn, `early map-count check ${where}: (map_count ${c} + 2) < ${M} - 3, passes`);
    } else {
      if (c + 4 > M) {
        this.fail(
          fn,
          'ENOMEM',
          `map-count check under the lock, for every call: map_count ${c} + 4 > max_map_count ${M}`,
        );
      }
      this.note(fn, `map-count check under the lock: map_count ${c} + 4 <= ${M}, passes`);
    }
  }

  /** vma_lookup(addr): the old VMA, or EFAULT. `positive` models 5.16's "ret = EFAULT" bug (returns +14). */
  lookupOld(fn: string, where: string, opts: { positive?: boolean } = {}): ModelVma {
    const v = this.state.lookup(this.call.old);
    if (!v) {
      if (opts.positive) {
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
  unmapDestination(fn = 'mremap_to()'): void {
    const c = this.call;
    const before = this.state.within(c.newAddr, c.newAddr + c.newLen).length;
    const r = this.state.munmap(c.newAddr, c.newAddr + c.newLen, this.M);
    if (!r.ok) this.fail(`${fn}: (a) do_munmap(new_addr, new_len)`, r.errno!, r.detail);
    this.note(
      `${fn}: (a) do_munmap(new_addr, new_len)`,
      before
        ? `destination unmapped: ${r.detail}; map_count now ${this.state.mapCount}`
        : `destination was free: ${r.detail}`,
      before > 0,
    );
  }

  /** (b): shrinking: do_munmap(addr + new_len, old_len - new_len), then old_len = new_len. */
  unmapTail(fn = 'mremap_to()'): void {
    const c = this.call;
    if (c.oldLen <= c.newLen) return;
    const start = c.old + c.newLen;
    const end = c.old + c.oldLen;
    const before = this.state.within(start, end).length;
    const r = this.state.munmap(start, end, this.M);
    if (!r.ok)
      this.fail(`${fn}: (b) do_munmap(addr + new_len, old_len - new_len)`, r.errno!, r.detail);
    this.note(
      `${fn}: (b) do_munmap(addr + new_len, old_len - new_len)`,
      `old tail unmapped: ${r.detail}; map_count now ${this.state.mapCount}`,
      before > 0,
    );
    this.call.oldLen = c.newLen;
  }

  // --- the validity checks of vma_to_resize() / resize_is_valid() / check_prep_vma()

  /**
   * The body shared by vma_to_resize() (to 6.12), resize_is_valid() (6.13-6.16)
   * and check_prep_vma() (6.17+). `dontunmapRule` is the VMA-type test of the
   * release; `charge` adds the VM_ACCOUNT charge where vma_to_resize() made it (to 5.14).
   */
  resizeChecks(
    fn: string,
    vma: ModelVma,
    opts: {
      dontunmapRule: 'private-anon' | 'not-special' | 'none';
      charge?: boolean;
      crossingLen?: number;
    },
  ): void {
    const c = this.call;
    if (c.oldLen === 0 && !vma.shared) this.fail(fn, 'EINVAL', 'old_len 0 on a private mapping');
    if (
      this.dontunmap &&
      opts.dontunmapRule === 'private-anon' &&
      (vma.backing.kind !== 'anon' || vma.shared)
    ) {
      this.fail(fn, 'EINVAL', 'MREMAP_DONTUNMAP on a VMA that is not private anonymous (5.7-5.12)');
    }
    // VM_DONTEXPAND/VM_PFNMAP never occur in the probe's layouts.
    const len = opts.crossingLen ?? c.oldLen;
    if (len > vma.end - c.old) {
      this.fail(
        fn,
        'EFAULT',
        `the old range (${len} pages) runs past the end of its VMA (${vma.end - c.old} pages left): "can't remap across vm area boundaries"`,
      );
    }
    if (c.newLen <= c.oldLen) {
      this.note(fn, 'the old range lies inside one VMA; not growing, no limits to check');
      return;
    }
    const delta = c.newLen - c.oldLen;
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
    if (opts.charge) this.charge(fn, vma, delta);
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
  dontunmapMayExpand(fn = 'mremap_to()'): void {
    if (!this.dontunmap) return;
    const vma = this.state.lookup(this.call.old);
    if (!vma) return;
    this.mayExpand(fn, vma, this.call.oldLen);
    this.note(fn, `MREMAP_DONTUNMAP: may_expand_vm(old_len ${this.call.oldLen} pages) passes`);
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

  /** get_unmapped_area(MAP_FIXED) and security_mmap_addr(): EPERM below mmap_min_addr without CAP_SYS_RAWIO. */
  getUnmappedArea(fn = 'mremap_to()'): void {
    const addrBytes = this.call.newAddr * this.env.pageSize;
    if (addrBytes < this.env.mmapMinAddr && !this.env.capSysRawio) {
      this.fail(
        `${fn}: get_unmapped_area() -> security_mmap_addr()`,
        'EPERM',
        `new_addr 0x${addrBytes.toString(16)} < vm.mmap_min_addr ${this.env.mmapMinAddr} and no CAP_SYS_RAWIO`,
      );
    }
    this.note(`${fn}: get_unmapped_area()`, 'the new address is acceptable');
  }

  // --- the move ------------------------------------------------------------

  /**
   * move_vma(): its own map-count check, the VM_ACCOUNT charge where the era
   * makes it here, copy_vma() and the page-table move, then the old range is
   * unmapped (or, with MREMAP_DONTUNMAP, kept mapped and emptied).
   */
  moveVma(
    fn: string,
    rule: MapCountRule,
    opts: { charge: boolean; chargeOriginalDelta?: boolean },
  ): number {
    const c = this.call;
    const s = this.state;
    if (rule === 'ge-M-3' && s.mapCount >= this.M - 3) {
      this.fail(fn, 'ENOMEM', `map_count ${s.mapCount} >= max_map_count ${this.M} - 3`);
    }
    if (rule === 'plus2-gt-M' && s.mapCount + 2 > this.M) {
      this.fail(
        fn,
        'ENOMEM',
        `check_map_count_against_split(): map_count ${s.mapCount} + 2 > max_map_count ${this.M}`,
      );
    }
    this.note(fn, `map_count ${s.mapCount} leaves room for the move`);
    const vma = s.lookup(c.old)!;
    if (opts.charge) {
      // Up to 6.14 the charge is new_len - old_len with old_len already cut
      // by (b); vrm_calc_charge() (6.15+) charges vrm->delta, set before (b).
      const pages = this.dontunmap
        ? c.newLen
        : opts.chargeOriginalDelta
          ? this.originalDelta
          : c.newLen - c.oldLen;
      const what =
        opts.chargeOriginalDelta && !this.dontunmap && c.newLen - c.oldLen !== this.originalDelta
          ? ` (vrm->delta ${this.originalDelta}, computed before (b) cut old_len)`
          : '';
      if (what) this.note(fn, `charges ${pages} pages${what}`);
      this.charge(fn, vma, pages);
    } else if (this.dontunmap && vma.account) {
      if (atLeast(this.env.version, 5, 11)) {
        // 5.11-5.14: move_vma() charges the new VMA of a DONTUNMAP move, and may refuse.
        this.charge(fn, vma, c.newLen);
      } else {
        // 5.7-5.10: vm_acct_memory(new_len) after the move, unchecked.
        this.state.committed += c.newLen;
        this.note(
          fn,
          `vm_acct_memory(${c.newLen} pages) for the new VMA of a DONTUNMAP move, unchecked`,
        );
      }
    }
    // The old range must be a single VMA piece here.
    s.splitAt(c.old);
    s.splitAt(c.old + c.oldLen);
    const src = s.lookup(c.old)!;
    s.copyAndMove(src, c.old, c.newAddr, c.oldLen, c.newLen);
    if (this.dontunmap) {
      // The old VMA stays, without its pages and without VM_LOCKED.
      s.dropPages(c.old, c.old + c.oldLen);
      if (src.locked) {
        src.locked = false;
        s.lockedVm -= c.oldLen;
      }
      this.note(
        fn,
        `copy_vma() + move_page_tables(): moved to ${this.pg(c.newAddr)}; MREMAP_DONTUNMAP keeps the old VMA, empty; map_count now ${s.mapCount}`,
        true,
      );
    } else {
      // do_munmap() of the old range; its failure is ignored ("OOM: unable to split vma").
      s.vmas = s.vmas.filter((v) => v !== src);
      s.mapCount--;
      s.totalVm -= c.oldLen;
      if (VmaSet.isData(src)) s.dataVm -= c.oldLen;
      if (src.locked) s.lockedVm -= c.oldLen;
      this.note(
        fn,
        `copy_vma() + move_page_tables(): moved to ${this.pg(c.newAddr)}, old range unmapped; map_count now ${s.mapCount}`,
        true,
      );
    }
    return c.newAddr;
  }

  // --- paths without a new address --------------------------------------------

  /**
   * Calls without MREMAP_FIXED or MREMAP_DONTUNMAP: the same-size no-op, the
   * in-place shrink and the in-place grow (vma_expandable), moving with
   * MREMAP_MAYMOVE when it cannot grow in place.
   */
  inPlace(fn: string, opts: { lookupDone: boolean }): ModelReturn {
    const c = this.call;
    const s = this.state;
    if (c.oldLen === c.newLen) {
      this.note(fn, 'same size: returns the address, nothing to do');
      return { ok: true, page: c.old };
    }
    if (c.newLen < c.oldLen) {
      const r = s.munmap(c.old + c.newLen, c.old + c.oldLen, this.M);
      if (!r.ok)
        this.fail(`${fn}: do_munmap(addr + new_len, old_len - new_len)`, r.errno!, r.detail);
      this.note(
        `${fn}: do_munmap(addr + new_len, old_len - new_len)`,
        `shrunk in place: ${r.detail}; map_count now ${s.mapCount}`,
        true,
      );
      return { ok: true, page: c.old };
    }
    const vma = opts.lookupDone
      ? s.lookup(c.old)!
      : this.lookupOld(`${fn}: vma_to_resize()`, 'for the grow');
    this.resizeChecks(`${fn}: vma_to_resize()`, vma, { dontunmapRule: 'none' });
    const delta = c.newLen - c.oldLen;
    const free = s.within(vma.end, vma.end + delta).length === 0;
    if (c.old + c.oldLen === vma.end && free) {
      this.charge(fn, vma, delta);
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
    throw new Error('the model does not follow a move to an address the kernel picks');
  }
}
