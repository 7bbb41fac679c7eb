// Where an observation departs from a prediction, as data: the return, the
// VMAs after the call, the pages read back, the map count. Words for them
// are made only when a report is written.
import type { ModelReturn, Prediction } from '../model/types.js';
import type { Observation } from '../observation.js';
import type { Placement } from '../placement.js';
import type { PageState } from '../protocol.js';
import { modelVmaViews, pageText, samePage, sameVmas, type VmaView } from './evidence.js';

export type Difference =
  | { kind: 'return'; expected: ModelReturn; observed: Observation['ret'] }
  | { kind: 'vmas'; expected: VmaView[]; observed: VmaView[] }
  | { kind: 'pages'; pages: { page: number; expected: PageState; observed: PageState }[] }
  | { kind: 'mapCount'; expected: number; observed: number };

/** The address a prediction returns, in bytes; null for an error. */
export function returnValue(r: ModelReturn, pageSize: number): bigint | null {
  if (!r.ok) return null;
  return 'raw' in r ? BigInt(r.raw) : BigInt(r.page) * BigInt(pageSize);
}

/** The same return; a move to an address the kernel picks matches any address outside the case's ranges. */
function sameReturn(r: ModelReturn, obs: Observation, pageSize: number): boolean {
  const o = obs.ret;
  if (!r.ok) return !o.ok && o.errno === r.errno;
  if ('page' in r && r.picked) return o.ok && obs.movedTo !== undefined;
  return o.ok && o.value === returnValue(r, pageSize) && obs.movedTo === undefined;
}

export function differences(p: Placement, obs: Observation, pred: Prediction): Difference[] {
  const out: Difference[] = [];
  if (!sameReturn(pred.ret, obs, p.pageSize)) {
    out.push({ kind: 'return', expected: pred.ret, observed: obs.ret });
  }
  const vmas = modelVmaViews(pred.state, p.views);
  if (!sameVmas(vmas, obs.after.vmas)) {
    out.push({ kind: 'vmas', expected: vmas, observed: obs.after.vmas });
  }
  const pages: { page: number; expected: PageState; observed: PageState }[] = [];
  for (const [page, observed] of obs.after.pages) {
    const expected = pred.state.read(page);
    if (!samePage(expected, observed)) pages.push({ page, expected, observed });
  }
  if (pages.length) out.push({ kind: 'pages', pages });
  if (pred.state.mapCount !== obs.mapCountAfter) {
    out.push({ kind: 'mapCount', expected: pred.state.mapCount, observed: obs.mapCountAfter });
  }
  return out;
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** One difference in words, pages counted from the window start. */
export function describeDifference(d: Difference, p: Placement): string {
  const W = p.window;
  switch (d.kind) {
    case 'return': {
      const r = d.expected;
      const want = !r.ok
        ? r.errno
        : 'page' in r && r.picked
          ? 'returns an address the kernel picks, outside the window'
          : `returns ${'raw' in r ? r.raw : hex(returnValue(r, p.pageSize)!)}`;
      const got = d.observed.ok ? `returns ${hex(d.observed.value)}` : d.observed.errno;
      return `return: expected ${want}, observed ${got}`;
    }
    case 'vmas': {
      const fmt = (v: VmaView[]) =>
        v.map((x) => `[${x.start - W},${x.end - W})${x.perms}`).join(' ') || 'none';
      return `VMAs after (window pages): expected ${fmt(d.expected)}, observed ${fmt(d.observed)}`;
    }
    case 'pages': {
      const bad = d.pages.map(
        (x) =>
          `page ${x.page - W}: expected ${pageText(x.expected)}, observed ${pageText(x.observed)}`,
      );
      return `pages: ${bad.slice(0, 6).join('; ')}${bad.length > 6 ? ` (+${bad.length - 6} more)` : ''}`;
    }
    case 'mapCount':
      return `map count after: expected ${d.expected}, observed ${d.observed}`;
  }
}
