// The contract of mremap(2), judged whatever an era's model says: a call that
// succeeds returns a page-aligned address where the new mapping lives with
// the old contents, and changes nothing outside the old range and the
// destination. A kernel that breaks it has a bug even where its era's model
// predicts the bug (5.16-5.18-rc6 return 14 for a missing old VMA).
import type { ObservedRun } from '../observation.js';
import { pageText, samePage, type VmaView } from './evidence.js';

const within = (p: number, [a, b]: [number, number]) => p >= a && p < b;

function permsAt(vmas: VmaView[], p: number): string | undefined {
  return vmas.find((v) => v.start <= p && p < v.end)?.perms;
}

/** How a successful call broke the contract, in words; empty when it kept it (or failed). */
export function contractBreaches(run: ObservedRun): string[] {
  const { placement: p, obs } = run;
  if (!obs.ret.ok) return [];
  const P = BigInt(p.pageSize);
  const value = obs.ret.value;
  if (value % P !== 0n) {
    return [
      `returned 0x${value.toString(16)}, which is not a page-aligned address (an error returned without its minus sign?)`,
    ];
  }
  const c = p.call;
  const at = obs.movedTo !== undefined ? p.picked : Number(value / P);
  const W = p.window;
  const rel = (page: number) =>
    page >= W && page < W + p.windowPages ? `W+${page - W}` : `${page}`;
  const out: string[] = [];
  // The new mapping holds what the old range held, page for page. Where the
  // old range had no page (a hole a 6.17+ multi-VMA move skips), the
  // destination may keep what it had.
  for (let i = 0; i < Math.min(c.oldLen, c.newLen); i++) {
    const was = obs.before.pages.get(c.old + i);
    const now = obs.after.pages.get(at + i);
    if (!was || !now || was.kind === 'unmapped' || samePage(was, now)) continue;
    out.push(
      `page ${i} of the new range holds ${pageText(now)}, where the old range held ${pageText(was)}`,
    );
    break;
  }
  // Nothing outside the old range and the destination changes.
  const old: [number, number] = [c.old, c.old + c.oldLen];
  const dst: [number, number] = [at, at + c.newLen];
  for (const [page, was] of obs.before.pages) {
    if (within(page, old) || within(page, dst)) continue;
    const now = obs.after.pages.get(page);
    const perms = [permsAt(obs.before.vmas, page), permsAt(obs.after.vmas, page)];
    if ((now && !samePage(was, now)) || perms[0] !== perms[1]) {
      out.push(
        `page ${rel(page)}, outside the old range and the destination, went from ${pageText(was)} ${perms[0] ?? 'unmapped'} to ${pageText(now)} ${perms[1] ?? 'unmapped'}`,
      );
      break;
    }
  }
  return out;
}
