// Map-count pressure: bring a lab child's map count to an exact target near
// vm.max_map_count, verify it by counting its own maps, and step it by small
// amounts without refilling.
//
// Fillers are one-page read-only anonymous mappings two pages apart (so none
// merges with another), made by do_mmap, which lets a process reach M+1
// ("map_count > M" fails). Nothing near the limit uses mprotect or munmap
// inside a VMA, whose splits fail earlier (split_vma: map_count >= M).
import { native } from './native.js';
import { Lab, LabHazardError, type LabOptions } from './lab.js';
import { op } from './protocol.js';

export interface TargetSpec {
  /** As given: "M-5", "M", "M+1", or a number. */
  text: string;
  /** Offset from vm.max_map_count, or undefined for an absolute target. */
  offset?: number;
  absolute?: number;
}

/** Parses "M-5", "M", "M+1" (relative to vm.max_map_count) or an absolute count. */
export function parseTarget(text: string): TargetSpec {
  const t = text.trim();
  const rel = /^[Mm]\s*(?:([+-])\s*(\d+))?$/.exec(t);
  if (rel) {
    const k = rel[2] ? Number(rel[2]) : 0;
    return { text: `M${k === 0 ? '' : `${rel[1]}${k}`}`, offset: rel[1] === '-' ? -k : k };
  }
  if (/^\d+$/.test(t)) return { text: t, absolute: Number(t) };
  throw new RangeError(`a target is M, M-k, M+k or a number (got ${JSON.stringify(text)})`);
}

export function resolveTarget(spec: TargetSpec, maxMapCount: number): number {
  return spec.absolute ?? maxMapCount + (spec.offset ?? 0);
}

/** How far the probe fills by default: beyond this, vm.max_map_count is too large to reach. */
export const DEFAULT_MAX_FILL = 262_144;

export interface LabEnvironment {
  /** Soft limits the lab raised to their hard limits. */
  raised: string[];
  /** The seccomp mode of the child (0 none, 1 strict, 2 filter), if /proc says. */
  seccomp?: number;
  /** PROCMAP_QUERY answers region queries (Linux 6.11+). */
  procmapQuery: boolean;
}

export interface Arena {
  fillerBase: bigint;
  fillerSlots: number;
  regionBase: bigint;
  regionBytes: bigint;
}

export interface PressureReading {
  target: number;
  mapCount: number;
  verified: boolean;
  fillers: number;
  /** Why the target was not reached exactly. */
  reason?: string;
}

const GUARD = 64n << 20n;

/**
 * A lab prepared for pressure work: limits raised, mremap known to work, an
 * arena reserved for fillers and for experiment regions.
 */
export class PressureLab {
  readonly lab: Lab;
  readonly maxMapCount: number;
  readonly arena: Arena;
  readonly environment: LabEnvironment;
  /**
   * The map count is tracked as three parts: the child's own VMAs outside
   * the fillers and the experiment regions (counted when the lab opens, and
   * again by count()), the fillers (as fill() reports them), and the VMAs
   * the last query of the experiment regions saw (observeRegion()). Nothing
   * is adjusted by hand, so a case that fails halfway leaves no drift.
   */
  private base: number;
  private region = 0;
  /** The child's VmLck (kB) after the last case's window was unmapped: locked pages it leaked. */
  lockedKb = 0;

  private constructor(
    lab: Lab,
    maxMapCount: number,
    arena: Arena,
    environment: LabEnvironment,
    base: number,
  ) {
    this.lab = lab;
    this.maxMapCount = maxMapCount;
    this.arena = arena;
    this.environment = environment;
    this.base = base;
  }

  /**
   * Opens a lab child and prepares it. Throws LabHazardError when the
   * environment keeps it from working (the run "could not run here").
   */
  static open(
    maxMapCount: number,
    options: LabOptions & { regionBytes?: bigint; maxFill?: number; fillers?: boolean } = {},
  ): PressureLab {
    const maxFill = options.maxFill ?? DEFAULT_MAX_FILL;
    // A lab without fillers (for cases without pressure) works at any limit.
    const withFillers = options.fillers !== false;
    if (withFillers && maxMapCount > maxFill) {
      throw new LabHazardError(
        'max-map-count',
        `vm.max_map_count is ${maxMapCount}, too large to reach (more than ${maxFill} VMAs); as root, --lower-limit N lowers it for the run and restores it`,
      );
    }
    const lab = Lab.open(options);
    try {
      const environment = prepareEnvironment(lab);
      const page = BigInt(lab.pageSize);
      const stride = 2n * page;
      const fillerSlots = withFillers ? maxMapCount + 16 : 0;
      const fillerBytes = BigInt(fillerSlots) * stride;
      let regionBytes = options.regionBytes ?? 64n << 30n;
      let base: bigint | undefined;
      // Ask for the whole arena at once, so that nothing else can land inside
      // the part of the filler area not yet filled; halve the region part
      // where the address space is limited.
      while (base === undefined && regionBytes >= 64n << 20n) {
        const r = lab.call(op.findFree({ length: fillerBytes + GUARD + regionBytes }), 'mmap');
        if (r.ok) base = r.value;
        else regionBytes /= 2n;
      }
      if (base === undefined) {
        throw new LabHazardError(
          'address-space',
          'no free address range for the fillers and regions (RLIMIT_AS too low?)',
        );
      }
      if (withFillers) lab.setupFillers(base, fillerSlots, stride, native().constants.PROT_READ);
      const arena: Arena = {
        fillerBase: base,
        fillerSlots,
        regionBase: base + fillerBytes + GUARD,
        regionBytes,
      };
      return new PressureLab(lab, maxMapCount, arena, environment, lab.countMaps().mapCount);
    } catch (err) {
      lab.close();
      throw err;
    }
  }

  /** The child's map count as tracked (exact as long as the regions are queried after each change). */
  get trackedCount(): number {
    return this.base + this.region + this.lab.fillers;
  }

  /** Counts the child's maps and re-bases the tracking on the count. */
  count(): number {
    const c = this.lab.countMaps().mapCount;
    this.base = c - this.lab.fillers - this.region;
    return c;
  }

  /** VMAs of the child besides fillers (its own, plus the regions' as last queried). */
  get nonFillers(): number {
    return this.base + this.region;
  }

  /** What a query of every experiment region found: the number of VMAs there now. */
  observeRegion(vmas: number): void {
    this.region = vmas;
  }

  /** Sets the number of fillers directly (0 to drop them all). */
  setFillers(n: number): void {
    if (this.arena.fillerSlots === 0) {
      if (n > 0) throw new Error('this lab has no filler area');
      return;
    }
    const f = this.lab.fill(Math.max(0, Math.min(n, this.arena.fillerSlots)));
    if (f.fillers !== Math.max(0, Math.min(n, this.arena.fillerSlots))) {
      throw new Error(`could not set fillers to ${n}: ${f.stoppedBy ?? 'unknown'}`);
    }
  }

  /**
   * Sets the fillers so that the map count is `target`. With verify, counts
   * the maps afterwards; otherwise trusts the tracking.
   */
  reach(target: number, options: { verify?: boolean } = {}): PressureReading {
    const need = target - this.nonFillers;
    if (need < 0) {
      return {
        target,
        mapCount: this.trackedCount,
        verified: false,
        fillers: this.lab.fillers,
        reason: `the child already holds ${this.nonFillers} VMAs besides fillers, more than the target ${target}`,
      };
    }
    if (need > this.arena.fillerSlots) {
      return {
        target,
        mapCount: this.trackedCount,
        verified: false,
        fillers: this.lab.fillers,
        reason: `the target ${target} needs more fillers than the arena holds`,
      };
    }
    const f = this.lab.fill(need);
    const mapCount = options.verify ? this.count() : this.trackedCount;
    const reading: PressureReading = {
      target,
      mapCount,
      verified: options.verify === true && mapCount === target,
      fillers: f.fillers,
    };
    if (mapCount !== target) {
      reading.reason =
        f.stoppedBy === 'ENOMEM' && target > this.maxMapCount
          ? `do_mmap refuses a new VMA once map_count > vm.max_map_count (${this.maxMapCount}): ${mapCount} is as far as it goes`
          : f.stoppedBy
            ? `making a filler failed with ${f.stoppedBy} at map count ${mapCount}`
            : `the count is ${mapCount}, not ${target}: something else in the child made or removed VMAs`;
    }
    return reading;
  }

  close() {
    return this.lab.close();
  }
}

/**
 * Raises the soft address-space and data limits to the hard ones (CI runners
 * set them), and checks that mremap works at all in the child (seccomp and
 * sandboxes may refuse it).
 */
function prepareEnvironment(lab: Lab): LabEnvironment {
  const c = native().constants;
  const raised: string[] = [];
  for (const name of ['RLIMIT_AS', 'RLIMIT_DATA'] as const) {
    const resource = c[name];
    const l = lab.getrlimit(resource);
    if (l.cur !== l.max) {
      const r = lab.call(op.setrlimit({ resource, cur: l.max, max: l.max }));
      if (r.ok)
        raised.push(`${name} ${l.cur} -> ${l.max === c.RLIM_INFINITY ? 'unlimited' : l.max}`);
    }
  }
  const seccompField = lab.procField('status', 'Seccomp');
  const seccomp = seccompField === undefined ? undefined : Number(seccompField);
  const page = BigInt(lab.pageSize);
  const a = lab.mmap(0n, 4n * page, c.PROT_READ | c.PROT_WRITE, c.MAP_PRIVATE | c.MAP_ANONYMOUS);
  if (!a.ok) {
    throw new LabHazardError('address-space', `the lab cannot map memory (${a.code})`);
  }
  const moved = lab.mremap(
    a.value,
    page,
    page,
    c.MREMAP_MAYMOVE | c.MREMAP_FIXED,
    a.value + 2n * page,
  );
  lab.munmap(a.value, 4n * page);
  if (!moved.ok) {
    throw new LabHazardError(
      'seccomp',
      `mremap(MREMAP_FIXED) is refused here (${moved.code}${seccomp ? `, seccomp mode ${seccomp}` : ''}): a sandbox or seccomp filter blocks it`,
    );
  }
  const q = lab.query(a.value, a.value + page);
  return {
    raised,
    ...(seccomp === undefined ? {} : { seccomp }),
    procmapQuery: q.method === 'ioctl',
  };
}
