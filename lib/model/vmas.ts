// A model of a process's VMAs, in pages: intervals with permissions, flags and
// backing, the pages each maps, mm->map_count, and the merges the kernel makes
// when a VMA is mapped, changed or moved next to a compatible one
// (docs/merges.md). Pure: nothing here touches the real kernel.
//
// Only what lies in an experiment's region is modelled; map_count is the whole
// process's count, changed by the same amounts the kernel changes it by.
//
// Longer than most of lib/: one class whose operations (map, protect, lock,
// unmap, move, grow) all go through the same merge rules.
import { MUNMAP_SPLIT } from './rules.js';

/**
 * The merge rules that changed between releases (docs/merges.md#model-rules);
 * each era file decides them from the version.
 */
export interface MergePolicy {
  /** 879bca0a2c4f (6.16): a faulted VMA may merge into an unfaulted neighbour. */
  faultedIntoUnfaulted: boolean;
  /** ca3d76b0aa80 (6.1): an in-place grow merges with the next VMA. */
  growMergesNext: boolean;
  /** 6.1-6.11 mmap_region(): a new VMA tries the next VMA first. */
  mmapTriesNextFirst: boolean;
  /** 9b9143298585 (6.7): mprotect() away from writable unaccounts an unfaulted anonymous VMA. */
  unaccountUnfaultedOnMprotect: boolean;
}

/** The rules of the newest releases. */
export const LATEST_MERGES: MergePolicy = {
  faultedIntoUnfaulted: true,
  growMergesNext: true,
  mmapTriesNextFirst: false,
  unaccountUnfaultedOnMprotect: true,
};

export type Backing =
  | { kind: 'anon' }
  /** MAP_SHARED|MAP_ANONYMOUS: a shmem object of fixed size. */
  | { kind: 'shmem'; object: number }
  | { kind: 'memfd'; object: number };

export interface ModelVma {
  /** First page (page number, i.e. address / page size). */
  start: number;
  /** Page after the last one. */
  end: number;
  read: boolean;
  write: boolean;
  exec: boolean;
  shared: boolean;
  backing: Backing;
  /** Page offset into the backing object; for private anonymous VMAs, start page at creation. */
  pgoff: number;
  /** Identity of the VMA's anon_vma; null while never faulted (or for shared VMAs). */
  anon: number | null;
  /** VM_LOCKED. */
  locked: boolean;
  /** VM_ACCOUNT: private writable mappings are charged to the commit count. */
  account: boolean;
  /** The layout piece it came from, for reports. */
  label: string;
}

export type Content =
  | { kind: 'zero' }
  | { kind: 'stamp'; object: number; page: number }
  /** Mapped, but reading it fails (a shmem page past the end of its object: SIGBUS). */
  | { kind: 'unreadable' };

export type PageView = Content | { kind: 'unmapped' };

export interface SharedObject {
  /** Size in pages (shmem from MAP_SHARED|MAP_ANONYMOUS, memfd from ftruncate). */
  size: number;
  pages: Map<number, Content>;
}

export function permsOf(v: Pick<ModelVma, 'read' | 'write' | 'exec' | 'shared'>): string {
  return `${v.read ? 'r' : '-'}${v.write ? 'w' : '-'}${v.exec ? 'x' : '-'}${v.shared ? 's' : 'p'}`;
}

export function sameBacking(a: Backing, b: Backing): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind === 'anon' || (b.kind !== 'anon' && a.object === b.object);
}

export interface UnmapResult {
  ok: boolean;
  errno?: string;
  /** Why it failed, or what it did. */
  detail: string;
  /** VMAs removed entirely or in part. */
  removedPages: number;
}

export class VmaSet {
  vmas: ModelVma[] = [];
  /** Content of private pages by page number. */
  anonPages = new Map<number, Content>();
  objects = new Map<number, SharedObject>();
  mapCount: number;
  /**
   * Pages this region added to the machine's commit count (Committed_AS):
   * mapping a VM_ACCOUNT VMA charges it, unmapping one uncharges it, and
   * mremap charges what its era charges (see Run.charge).
   */
  committed = 0;
  /** mm->total_vm, mm->data_vm, mm->locked_vm, in pages. */
  totalVm: number;
  dataVm: number;
  lockedVm: number;
  private nextAnon = 1;
  policy: MergePolicy = LATEST_MERGES;
  /**
   * Whether the lab reads PROT_NONE pages: /proc/self/mem reads them with
   * FOLL_FORCE unless proc_mem.force_override forbids it (6.12,
   * CONFIG_PROC_MEM_FORCE_PTRACE or _NO_FORCE). Where it cannot, read()
   * says such a page is unreadable, as the lab sees it.
   */
  protNoneReadable = true;

  constructor(mapCount: number, totalVm: number, dataVm: number, lockedVm: number) {
    this.mapCount = mapCount;
    this.totalVm = totalVm;
    this.dataVm = dataVm;
    this.lockedVm = lockedVm;
  }

  clone(): VmaSet {
    const c = new VmaSet(this.mapCount, this.totalVm, this.dataVm, this.lockedVm);
    c.vmas = this.vmas.map((v) => ({ ...v, backing: { ...v.backing } }));
    c.anonPages = new Map(this.anonPages);
    c.objects = new Map(
      [...this.objects].map(([k, o]) => [k, { size: o.size, pages: new Map(o.pages) }]),
    );
    c.nextAnon = this.nextAnon;
    c.committed = this.committed;
    c.protNoneReadable = this.protNoneReadable;
    c.policy = this.policy;
    return c;
  }

  newAnonId(): number {
    return this.nextAnon++;
  }

  /** The VMA covering page p (find_vma + vm_start <= p, i.e. vma_lookup). */
  lookup(p: number): ModelVma | undefined {
    return this.vmas.find((v) => v.start <= p && p < v.end);
  }

  /** VMAs that meet [start, end). */
  within(start: number, end: number): ModelVma[] {
    return this.vmas.filter((v) => v.end > start && v.start < end);
  }

  private sort(): void {
    this.vmas.sort((a, b) => a.start - b.start);
  }

  static isData(v: ModelVma): boolean {
    // is_data_mapping(): private and writable (not a stack).
    return v.write && !v.shared;
  }

  private account(v: ModelVma, sign: 1 | -1, pages = v.end - v.start): void {
    this.totalVm += sign * pages;
    if (VmaSet.isData(v)) this.dataVm += sign * pages;
    if (v.locked) this.lockedVm += sign * pages;
  }

  /**
   * mmap() of a new VMA at a free range (the caller checks it is free): it
   * counts, is charged when VM_ACCOUNT, and merges with a compatible
   * neighbour as vma_merge() would. Returns the VMA that holds the range.
   */
  map(v: Omit<ModelVma, 'anon'> & { anon?: number | null }): ModelVma {
    const vma: ModelVma = { anon: null, ...v };
    if (this.within(vma.start, vma.end).length) {
      throw new Error(`model: map over a mapped range at page ${vma.start}`);
    }
    this.vmas.push(vma);
    this.sort();
    this.mapCount++;
    this.account(vma, 1);
    if (vma.account) this.committed += vma.end - vma.start;
    return this.policy.mmapTriesNextFirst ? this.mergeNextFirst(vma) : this.mergeAround(vma);
  }

  /**
   * Changes [start, end), which must be mapped, as mprotect()/mlock() do:
   * split at the ends, change every VMA inside, and merge each with its
   * neighbours where they have become compatible (mprotect_fixup(), mlock_fixup()).
   */
  private change(start: number, end: number, f: (v: ModelVma) => void): void {
    this.splitAt(start);
    this.splitAt(end);
    for (const v of this.within(start, end)) f(v);
    for (const v of this.within(start, end)) {
      if (this.vmas.includes(v)) this.mergeAround(v);
    }
  }

  /** mprotect(): read/write as given (VM_ACCOUNT stays as it was). */
  protect(start: number, end: number, read: boolean, write: boolean): void {
    this.change(start, end, (v) => {
      if (VmaSet.isData(v)) this.dataVm -= v.end - v.start;
      const unaccount =
        this.policy.unaccountUnfaultedOnMprotect &&
        v.write &&
        !write &&
        v.account &&
        v.anon === null &&
        v.backing.kind === 'anon';
      if (unaccount) {
        v.account = false;
        this.committed -= v.end - v.start;
      }
      // mprotect_fixup(): a private mapping made writable is charged, once.
      if (write && !v.write && !v.shared && !v.account) {
        v.account = true;
        this.committed += v.end - v.start;
      }
      v.read = read;
      v.write = write;
      if (VmaSet.isData(v)) this.dataVm += v.end - v.start;
    });
  }

  /** mlock(): VM_LOCKED, counted in locked_vm. */
  lock(start: number, end: number): void {
    this.change(start, end, (v) => {
      if (!v.locked) this.lockedVm += v.end - v.start;
      v.locked = true;
    });
  }

  /** Creates a shared object (shmem or memfd) of `size` pages. */
  addObject(id: number, size: number): void {
    this.objects.set(id, { size, pages: new Map() });
  }

  /** What reading page p shows. */
  read(p: number): PageView {
    const v = this.lookup(p);
    if (!v) return { kind: 'unmapped' };
    if (!v.read && !this.protNoneReadable) return { kind: 'unreadable' };
    if (v.backing.kind === 'anon') return this.anonPages.get(p) ?? { kind: 'zero' };
    const obj = this.objects.get(v.backing.object);
    const off = v.pgoff + (p - v.start);
    if (!obj || off >= obj.size) return { kind: 'unreadable' };
    return obj.pages.get(off) ?? { kind: 'zero' };
  }

  /** Writes a page's content (stamping before the call). */
  write(p: number, c: Content): void {
    const v = this.lookup(p);
    if (!v) throw new Error(`model: write to unmapped page ${p}`);
    if (v.backing.kind === 'anon') {
      this.anonPages.set(p, c);
      v.anon ??= this.reusableAnon(v) ?? this.newAnonId();
    } else {
      this.objects.get(v.backing.object)!.pages.set(v.pgoff + (p - v.start), c);
    }
  }

  /**
   * find_mergeable_anon_vma(): the first fault of a VMA takes a neighbour's
   * anon_vma when the two could merge but for their protections
   * (anon_vma_compatible(): adjacent, the following pgoff, the same flags but
   * for read/write/exec), next first, then prev. So pieces that differ only in
   * protection share one, and merge when an mprotect makes them equal.
   */
  private reusableAnon(v: ModelVma): number | null {
    const compatible = (a: ModelVma, b: ModelVma) =>
      a.end === b.start &&
      a.shared === b.shared &&
      a.locked === b.locked &&
      a.account === b.account &&
      sameBacking(a.backing, b.backing) &&
      a.pgoff + (a.end - a.start) === b.pgoff;
    const next = this.vmas.find((x) => x.start === v.end);
    if (next?.anon != null && compatible(v, next)) return next.anon;
    const prev = this.vmas.find((x) => x.end === v.start);
    if (prev?.anon != null && compatible(prev, v)) return prev.anon;
    return null;
  }

  /** Splits the VMA containing p at p (p strictly inside). __split_vma: no map-count check. */
  splitAt(p: number): void {
    const v = this.lookup(p);
    if (!v || v.start === p) return;
    const tail: ModelVma = {
      ...v,
      backing: { ...v.backing },
      start: p,
      pgoff: v.pgoff + (p - v.start),
    };
    v.end = p;
    this.vmas.push(tail);
    this.sort();
    this.mapCount++;
  }

  /**
   * do_munmap(start, end): the munmap rule ("let map_count go just above its
   * limit temporarily"): only a range strictly inside one VMA, needing two
   * splits, is refused when map_count >= M, once, before anything changes.
   */
  munmap(start: number, end: number, maxMapCount: number): UnmapResult {
    if (end <= start) return { ok: false, errno: 'EINVAL', detail: 'length 0', removedPages: 0 };
    const first = this.vmas.find((v) => v.end > start);
    if (!first || first.start >= end) {
      return { ok: true, detail: 'nothing mapped there', removedPages: 0 };
    }
    if (first.start < start && end < first.end && MUNMAP_SPLIT.fails(this.mapCount, maxMapCount)) {
      return {
        ok: false,
        errno: 'ENOMEM',
        detail: MUNMAP_SPLIT.failText(this.mapCount, maxMapCount, ''),
        removedPages: 0,
      };
    }
    this.splitAt(start);
    this.splitAt(end);
    const gone = this.vmas.filter((v) => v.start >= start && v.end <= end);
    let pages = 0;
    for (const v of gone) {
      pages += v.end - v.start;
      this.account(v, -1);
      if (v.account) this.committed -= v.end - v.start;
      if (v.backing.kind === 'anon') {
        for (let p = v.start; p < v.end; p++) this.anonPages.delete(p);
      }
    }
    this.vmas = this.vmas.filter((v) => !gone.includes(v));
    this.mapCount -= gone.length;
    return {
      ok: true,
      detail: `unmapped ${gone.length} VMA(s), ${pages} page(s)`,
      removedPages: pages,
    };
  }

  /**
   * vma_merge()'s test for `left` and `right` (adjacent): the same flags and
   * backing, the following pgoff, and an anon_vma the side being placed or
   * changed (`source`) can join: it has none, or the same, or (6.16+) the
   * other side has none.
   */
  canMerge(left: ModelVma, right: ModelVma, source: ModelVma): boolean {
    const target = source === left ? right : left;
    return (
      left.end === right.start &&
      left.read === right.read &&
      left.write === right.write &&
      left.exec === right.exec &&
      left.shared === right.shared &&
      left.locked === right.locked &&
      left.account === right.account &&
      sameBacking(left.backing, right.backing) &&
      left.pgoff + (left.end - left.start) === right.pgoff &&
      (source.anon === null ||
        source.anon === target.anon ||
        (this.policy.faultedIntoUnfaulted && target.anon === null))
    );
  }

  /** Merges b, which follows a, into a (one VMA fewer). */
  private absorb(a: ModelVma, b: ModelVma): ModelVma {
    a.end = b.end;
    a.anon ??= b.anon;
    this.vmas = this.vmas.filter((x) => x !== b);
    this.mapCount--;
    return a;
  }

  /**
   * Merges v with its neighbours where vma_merge would; returns the surviving
   * VMA. When v could join both but they hold different anon_vmas, it joins
   * the previous one only.
   */
  mergeAround(v: ModelVma): ModelVma {
    const prev = this.vmas.find((x) => x.end === v.start);
    const next = this.vmas.find((x) => x.start === v.end);
    const withPrev = prev !== undefined && this.canMerge(prev, v, v);
    const withNext = next !== undefined && this.canMerge(v, next, v);
    const both =
      withPrev && withNext && (prev.anon === null || next.anon === null || prev.anon === next.anon);
    if (withPrev) {
      const cur = this.absorb(prev, v);
      return both ? this.absorb(cur, next!) : cur;
    }
    return withNext ? this.absorb(v, next!) : v;
  }

  /** 6.1-6.11's mmap_region(): the next VMA first, then the previous one checked against it. */
  private mergeNextFirst(v: ModelVma): ModelVma {
    const next = this.vmas.find((x) => x.start === v.end);
    if (next && this.canMerge(v, next, v)) {
      const prev = this.vmas.find((x) => x.end === v.start);
      const cur = this.absorb(v, next);
      return prev && this.canMerge(prev, cur, next) ? this.absorb(prev, cur) : cur;
    }
    return this.mergeAround(v);
  }

  /**
   * copy_vma() + move_page_tables(): a new VMA of `newLen` pages at `to` for the
   * `moveLen` pages at `from` (all inside `src`); it may merge with its new
   * neighbours. Private page contents move with the page tables.
   */
  copyAndMove(
    src: ModelVma,
    from: number,
    to: number,
    moveLen: number,
    newLen = moveLen,
  ): ModelVma {
    const neverFaulted = src.backing.kind === 'anon' && src.anon === null;
    const copy: ModelVma = {
      ...src,
      backing: { ...src.backing },
      start: to,
      end: to + newLen,
      // copy_vma(): an anonymous VMA never faulted takes pgoff = addr >> PAGE_SHIFT
      // "to increase its chance of merging".
      pgoff: neverFaulted ? to : src.pgoff + (from - src.start),
    };
    this.vmas.push(copy);
    this.sort();
    this.mapCount++;
    this.account(copy, 1);
    if (src.backing.kind === 'anon') {
      const moved: [number, Content][] = [];
      for (let i = 0; i < moveLen; i++) {
        const c = this.anonPages.get(from + i);
        this.anonPages.delete(from + i);
        if (c) moved.push([to + i, c]);
      }
      for (const [p, c] of moved) this.anonPages.set(p, c);
    }
    return this.mergeAround(copy);
  }

  /** Grows v in place to newEnd (vma_expand / vma_merge_extend), merging with a compatible next VMA. */
  expand(v: ModelVma, newEnd: number): ModelVma {
    const grown = newEnd - v.end;
    v.end = newEnd;
    this.account(v, 1, grown);
    // Before 6.1 the grow (vma_adjust()) never merged with the next VMA.
    if (!this.policy.growMergesNext) return v;
    const next = this.vmas.find((x) => x.start === v.end);
    return next && this.canMerge(v, next, v) ? this.absorb(v, next) : v;
  }

  /** Drops the private pages of [start, end) (MREMAP_DONTUNMAP leaves the old VMA empty). */
  dropPages(start: number, end: number): void {
    for (let p = start; p < end; p++) this.anonPages.delete(p);
  }
}
