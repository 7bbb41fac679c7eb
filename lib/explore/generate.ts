// Generated scenarios: the same Scenario data the catalogue holds, drawn by
// fast-check from the space of layouts, calls, flags, limits and map-count
// offsets around vm.max_map_count. Every scenario is valid by construction;
// validateScenario() (validate.ts) says so.
//
// The window: destinations around page DST, old ranges from page OLD, free
// room after both for in-place grows; a move to an address the kernel picks
// lands outside the window.
import fc from 'fast-check';
import {
  pressureText,
  type BackingKind,
  type FlagName,
  type Piece,
  type Prot,
  type Scenario,
} from '../scenarios/types.js';

export const GEN_WINDOW = 224;
const DST = 8;
const OLD = 112;
/** Largest new_len generated, in pages: grows of up to three times the old range. */
const MAX_NEW = 96;

export interface GenOptions {
  /** Map-count offsets to draw from, inclusive (default M-12..M+1). */
  pressure?: [number, number];
  /** Also draw cases without pressure (default yes). */
  noPressure?: boolean;
}

interface OldVma {
  pages: number;
  gap: number;
  prot: Prot;
  backing: BackingKind;
  mlock: boolean;
}

const prot = fc.constantFrom<Prot>('rw', 'rw', 'rw', 'r', 'none');
const backing = fc.constantFrom<BackingKind>('anon', 'anon', 'anon', 'shmem', 'memfd');

const oldVma = fc.record({
  pages: fc.integer({ min: 1, max: 4 }),
  gap: fc.constantFrom(0, 0, 1, 2),
  prot,
  backing,
  mlock: fc.constantFrom(false, false, false, false, true),
});

type DstKind = 'free' | 'holes' | 'vmas' | 'inside' | 'across' | 'overlap' | 'zero';

interface Draw {
  olds: OldVma[];
  startAt: 'gap' | 'edge' | 'inside';
  startInside: number;
  oldExtra: number;
  size: 'shrink' | 'same' | 'grow';
  sizeFrac: number;
  dst: DstKind;
  dstPieces: { pages: number; gap: number; prot: Prot; backing: BackingKind }[];
  dstMargins: [number, number];
  overlapAt: number;
  flags: { names: FlagName[]; other?: number };
  unaligned: { oldShort?: number; newShort?: number; oldMisalign?: number; newMisalign?: number };
  pressure: number | null;
  asHeadroom: number | null;
  memlockHeadroom: number | null;
  dropRawio: boolean;
}

const FLAG_SETS: { names: FlagName[]; other?: number }[] = [
  { names: ['MAYMOVE', 'FIXED'] },
  { names: ['MAYMOVE', 'FIXED'] },
  { names: ['MAYMOVE', 'FIXED'] },
  { names: ['MAYMOVE', 'FIXED', 'DONTUNMAP'] },
  { names: [] },
  { names: ['MAYMOVE'] },
  { names: ['MAYMOVE', 'DONTUNMAP'] },
  // Invalid combinations: FIXED or DONTUNMAP without MAYMOVE, an unknown bit.
  { names: ['FIXED'] },
  { names: ['DONTUNMAP'] },
  { names: ['FIXED', 'DONTUNMAP'] },
  { names: ['MAYMOVE', 'FIXED'], other: 8 },
];

function drawArb(o: GenOptions): fc.Arbitrary<Draw> {
  const [lo, hi] = o.pressure ?? [-12, 1];
  const offsets = fc.integer({ min: lo, max: hi });
  const pressure: fc.Arbitrary<number | null> =
    o.noPressure === false
      ? offsets
      : fc.oneof({ weight: 3, arbitrary: offsets }, { weight: 1, arbitrary: fc.constant(null) });
  const short = fc.constantFrom(1, 2048);
  return fc.record({
    olds: fc.array(oldVma, { minLength: 1, maxLength: 6 }),
    startAt: fc.constantFrom<Draw['startAt']>('edge', 'edge', 'inside', 'gap'),
    startInside: fc.integer({ min: 1, max: 3 }),
    oldExtra: fc.integer({ min: -3, max: 2 }),
    size: fc.constantFrom<Draw['size']>('shrink', 'same', 'same', 'grow'),
    sizeFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    dst: fc.constantFrom<DstKind>(
      'free',
      'holes',
      'vmas',
      'vmas',
      'inside',
      'across',
      'overlap',
      'zero',
    ),
    dstPieces: fc.array(
      fc.record({
        pages: fc.integer({ min: 1, max: 4 }),
        gap: fc.constantFrom(0, 0, 1),
        prot,
        backing,
      }),
      { minLength: 1, maxLength: 4 },
    ),
    dstMargins: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    overlapAt: fc.integer({ min: -8, max: 8 }),
    flags: fc.constantFrom(...FLAG_SETS),
    // Most calls are aligned; one in eight has one unaligned length or address.
    unaligned: fc.oneof(
      { weight: 28, arbitrary: fc.constant({}) },
      fc.record({ oldShort: short }),
      fc.record({ newShort: short }),
      fc.record({ oldMisalign: short }),
      fc.record({ newMisalign: short }),
    ),
    pressure,
    asHeadroom: fc.option(fc.integer({ min: 0, max: 2 }), { freq: 6 }),
    memlockHeadroom: fc.option(fc.integer({ min: 0, max: 1 }), { freq: 2 }),
    dropRawio: fc.boolean(),
  });
}

/** Builds the scenario a draw stands for: valid by construction. */
function build(d: Draw, id: string): Scenario {
  const layout: Piece[] = [];
  // The old range's VMAs, from OLD (one free page before the first when the call starts in a gap).
  let at = OLD + (d.startAt === 'gap' ? 1 : 0);
  const olds: { start: number; end: number }[] = [];
  d.olds.forEach((v, i) => {
    at += i === 0 ? 0 : v.gap;
    layout.push({
      label: i === 0 ? 'old' : `old-${i + 1}`,
      page: at,
      pages: v.pages,
      prot: v.prot,
      backing: v.backing,
      ...(v.backing === 'memfd' ? { objectPages: v.pages + (i % 2) * 2 } : {}),
      ...(v.mlock ? { mlock: true } : {}),
    });
    olds.push({ start: at, end: at + v.pages });
    at += v.pages;
  });
  const first = olds[0]!;
  const old =
    d.startAt === 'gap'
      ? OLD
      : d.startAt === 'edge' || first.end - first.start === 1
        ? first.start
        : first.start + Math.min(d.startInside, first.end - first.start - 1);
  const span = olds.at(-1)!.end - old;
  const oldPages = Math.max(1, span + d.oldExtra);
  const newPages =
    d.size === 'same'
      ? oldPages
      : d.size === 'shrink'
        ? oldPages === 1
          ? 1
          : 1 + Math.floor(d.sizeFrac * (oldPages - 1))
        : Math.min(MAX_NEW, oldPages + 1 + Math.floor(d.sizeFrac * oldPages * 2));
  const fixed = d.flags.names.includes('FIXED');
  const dontunmap = d.flags.names.includes('DONTUNMAP');
  // DONTUNMAP wants old_len == new_len; keep that for most DONTUNMAP calls.
  const sizedNew = dontunmap && d.sizeFrac < 0.8 ? oldPages : newPages;
  let newAddr: number | 'zero' | undefined;
  if (fixed || dontunmap) {
    switch (d.dst) {
      case 'zero':
        newAddr = 'zero';
        break;
      case 'overlap':
        newAddr = Math.max(DST + 8, old + d.overlapAt);
        break;
      default:
        newAddr = DST + 2;
    }
  }
  if (typeof newAddr === 'number' && d.dst !== 'overlap') {
    layout.push(...dstLayout(d, newAddr, sizedNew));
  }
  const dropCaps: ('CAP_IPC_LOCK' | 'CAP_SYS_RAWIO')[] = [];
  // RLIMIT_MEMLOCK only binds without CAP_IPC_LOCK, which root holds.
  if (d.memlockHeadroom !== null && layout.some((p) => p.mlock)) dropCaps.push('CAP_IPC_LOCK');
  if (newAddr === 'zero' && d.dropRawio) dropCaps.push('CAP_SYS_RAWIO');
  const u = d.unaligned;
  const s: Scenario = {
    id: `${id}@${pressureText(d.pressure)}`,
    family: 'explore',
    summary: '',
    layout,
    call: {
      old,
      oldPages,
      newPages: sizedNew,
      flags: d.flags.names,
      ...(d.flags.other ? { otherFlags: d.flags.other } : {}),
      ...(newAddr !== undefined ? { newAddr } : {}),
      ...(u.oldShort ? { oldShort: u.oldShort } : {}),
      ...(u.newShort ? { newShort: u.newShort } : {}),
      ...(u.oldMisalign ? { oldMisalign: u.oldMisalign } : {}),
      ...(u.newMisalign && newAddr !== undefined ? { newMisalign: u.newMisalign } : {}),
    },
    pressure: d.pressure,
    windowPages: GEN_WINDOW,
  };
  const limits: Scenario['limits'] = {};
  if (d.asHeadroom !== null) limits.as = { headroom: d.asHeadroom };
  if (d.memlockHeadroom !== null && layout.some((p) => p.mlock)) {
    limits.memlock = { headroom: d.memlockHeadroom };
  }
  if (limits.as || limits.memlock) s.limits = limits;
  const requires: Scenario['requires'] = {};
  if (dropCaps.length) requires.dropCaps = dropCaps;
  if (dontunmap) requires.minKernel = [5, 7];
  if (newAddr === 'zero') requires.mmapMinAddr = true;
  if (Object.keys(requires).length) s.requires = requires;
  s.summary = describeScenario(s);
  return s;
}

/** The destination's pieces around [at, at + n). */
function dstLayout(d: Draw, at: number, n: number): Piece[] {
  const piece = (
    i: number,
    page: number,
    pages: number,
    p = d.dstPieces[i % d.dstPieces.length]!,
  ): Piece => ({
    label: i === 0 ? 'dst' : `dst-${i + 1}`,
    page,
    pages,
    prot: p.prot,
    backing: p.backing,
    ...(p.backing === 'memfd' ? { objectPages: pages } : {}),
  });
  const [a, b] = d.dstMargins;
  switch (d.dst) {
    case 'holes': {
      // Pieces with gaps, inside the destination.
      const out: Piece[] = [];
      let p = at;
      for (const [i, x] of d.dstPieces.entries()) {
        p += x.gap + (i === 0 ? 0 : 1);
        if (p + x.pages > at + n) break;
        out.push(piece(i, p, x.pages));
        p += x.pages;
      }
      return out;
    }
    case 'vmas': {
      // Pieces that tile the destination and reach a, b pages past its ends.
      const out: Piece[] = [];
      let p = at - a;
      const end = at + n + b;
      for (let i = 0; p < end; i++) {
        const x = d.dstPieces[i % d.dstPieces.length]!;
        const pages = Math.min(x.pages, end - p);
        out.push(piece(i, p, pages));
        p += pages;
        if (i >= 3) {
          // The fourth piece takes the rest (a memfd's file grows with it).
          const last = out[out.length - 1]!;
          last.pages += end - p;
          if (last.backing === 'memfd') last.objectPages = last.pages;
          break;
        }
      }
      return out;
    }
    case 'inside':
      return [piece(0, at - 1 - a, n + 2 + a + b)];
    case 'across': {
      const cut = at + Math.max(1, Math.min(n - 1, 1 + a));
      return n > 1
        ? [piece(0, at - 1, cut - at + 1), piece(1, cut, at + n + 1 - cut)]
        : [piece(0, at - 1, 2), piece(1, at + 1, 1)];
    }
    default:
      return [];
  }
}

/** One line on what a scenario does, from its data. */
export function describeScenario(s: Scenario): string {
  const c = s.call;
  const olds = s.layout.filter((p) => p.label.startsWith('old'));
  const dsts = s.layout.filter((p) => p.label.startsWith('dst'));
  const flags =
    [
      ...c.flags.map((f) => `MREMAP_${f}`),
      ...(c.otherFlags ? [`0x${c.otherFlags.toString(16)}`] : []),
    ].join('|') || '0';
  const newPages = c.newPages === 'beyond-commit' ? 'beyond-commit' : c.newPages;
  const dst =
    c.newAddr === undefined
      ? 'no new address'
      : c.newAddr === 'zero'
        ? 'new address 0'
        : `${dsts.length} destination VMA(s)`;
  const odd = [
    c.oldShort ? 'old_len unaligned' : '',
    c.newShort ? 'new_len unaligned' : '',
    c.oldMisalign ? 'addr unaligned' : '',
    c.newMisalign ? 'new_addr unaligned' : '',
  ].filter(Boolean);
  return `${olds.length} old VMA(s), ${c.oldPages} -> ${newPages} pages, ${flags}, ${dst}${odd.length ? `, ${odd.join(', ')}` : ''}`;
}

/** The arbitrary of scenarios (ids are filled in by generateScenarios()). */
export function scenarioArb(o: GenOptions = {}): fc.Arbitrary<Scenario> {
  return drawArb(o).map((d) => build(d, 'explore/x'));
}

/** `count` scenarios for a seed: the same seed gives the same scenarios. */
export function generateScenarios(
  seed: number,
  count: number,
  o: GenOptions = {},
  from = 0,
): Scenario[] {
  // A replay path starts at `from` without drawing the cases before it.
  const path = from > 0 ? { path: String(from) } : {};
  const draws = fc.sample(drawArb(o), { seed, numRuns: count, ...path });
  return draws.map((d, i) => build(d, `explore/${seed}-${from + i}`));
}
