// The layouts the move families share: where the destination and the old
// range sit in the window, and what is mapped around them.
import type { BackingKind, CallSpec, FlagName, Piece, Scenario } from './types.js';
import { pressureText } from './types.js';

export type DstKind = 'unmapped' | 'whole' | 'mid' | 'multi' | 'sparse';
export type OldKind = 'whole' | 'mid' | 'next' | 'hole' | 'none';
export type SizeKind = 'shrink' | 'same' | 'grow';

/** old_len and new_len in pages for each size. */
export const SIZES: Record<SizeKind, [oldPages: number, newPages: number]> = {
  shrink: [2, 1],
  same: [2, 2],
  grow: [2, 4],
};

export const DST = 8;
export const OLD = 32;
export const WINDOW = 48;
export const MEMFD_PAGES = 16;

/** The destination's pieces for a new range of n pages at `at`. */
export function dstPieces(kind: DstKind, at: number, n: number): Piece[] {
  const anon = (label: string, page: number, pages: number, prot: Piece['prot'] = 'rw'): Piece => ({
    label,
    page,
    pages,
    prot,
    backing: 'anon',
  });
  switch (kind) {
    case 'unmapped':
      return [];
    case 'whole':
      return [anon('dst', at, n)];
    case 'mid':
      return [anon('dst', at - 1, n + 2)];
    case 'multi': {
      // Two adjacent VMAs that do not merge (different protections).
      const h = Math.ceil(n / 2);
      return [anon('dst-a', at, h), anon('dst-b', at + h, n - h, 'r')];
    }
    case 'sparse':
      // One page mapped at the start, a hole for the rest: unmapping it frees less than new_len.
      return [anon('dst-a', at, 1)];
  }
}

/** The old range's pieces for old_len L at `at`, the first one with the given backing. */
export function oldPieces(kind: OldKind, at: number, L: number, backing: BackingKind): Piece[] {
  const piece = (label: string, page: number, pages: number): Piece => ({
    label,
    page,
    pages,
    prot: 'rw',
    backing,
    ...(backing === 'memfd' ? { objectPages: MEMFD_PAGES } : {}),
  });
  const half = Math.max(1, Math.floor(L / 2));
  switch (kind) {
    case 'none':
      return [];
    case 'whole':
      return [piece('old', at, L)];
    case 'mid':
      return [piece('old', at - 1, L + 2)];
    case 'next':
      // The old range covers a VMA and the whole next one (read-only, so they stay two).
      return [
        piece('old', at, half),
        { label: 'old-next', page: at + half, pages: L - half, prot: 'r', backing: 'anon' },
      ];
    case 'hole':
      return [piece('old', at, half)];
  }
}

export interface MoveOptions {
  family: string;
  dst: DstKind;
  old: OldKind;
  size: SizeKind;
  backing?: BackingKind;
  flags?: FlagName[];
  pressure?: number | null;
  modifier?: string;
  summary: string;
  /** mlock() the old range's VMA after stamping it. */
  lockOld?: boolean;
  extra?: Partial<Scenario>;
}

export function moveId(o: {
  family: string;
  dst: string;
  old: string;
  size: string;
  modifier?: string;
  pressure?: number | null;
}): string {
  return `${o.family}/dst-${o.dst}/old-${o.old}/${o.size}${o.modifier ? `+${o.modifier}` : ''}@${pressureText(o.pressure ?? null)}`;
}

/** A MREMAP_MAYMOVE|MREMAP_FIXED move (plus flags) from the old range to the destination. */
export function moveCase(o: MoveOptions): Scenario {
  const [L, N] = SIZES[o.size];
  const call: CallSpec = {
    old: OLD,
    oldPages: L,
    newPages: N,
    flags: o.flags ?? ['MAYMOVE', 'FIXED'],
    newAddr: DST,
  };
  return {
    id: moveId(o),
    family: o.family,
    summary: o.summary,
    layout: [
      ...dstPieces(o.dst, DST, N),
      ...oldPieces(o.old, OLD, L, o.backing ?? 'anon').map((p) =>
        o.lockOld && p.label === 'old' ? { ...p, mlock: true } : p,
      ),
    ],
    call,
    pressure: o.pressure ?? null,
    windowPages: WINDOW,
    ...o.extra,
  };
}
