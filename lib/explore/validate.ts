// Whether a scenario is one the lab, the model and the reproducer can take:
// every generated scenario is (the generator's tests check it), and a
// scenario file is checked with it before any case runs.
import type { Scenario } from '../scenarios/types.js';

/** Why a scenario is not one the lab, the model and the reproducer can take; empty when it is. */
export function validateScenario(s: Scenario): string[] {
  const bad: string[] = [];
  const W = s.windowPages;
  if (!/^[\w.+@-]+(\/[\w.+@-]+)*$/.test(s.id))
    bad.push(`id ${JSON.stringify(s.id)} has characters outside [A-Za-z0-9_.+@-/]`);
  if (typeof W === 'number' && (!Number.isInteger(W) || W < 1 || W > 1 << 20))
    bad.push('windowPages out of range');
  const sorted = [...s.layout].sort((a, b) => a.page - b.page);
  for (const [i, p] of sorted.entries()) {
    if (!Number.isInteger(p.page) || !Number.isInteger(p.pages) || p.pages < 1 || p.page < 0) {
      bad.push(`piece ${p.label}: pages must be whole and positive`);
    }
    if (typeof W === 'number' && p.page + p.pages > W)
      bad.push(`piece ${p.label} runs past the window`);
    const next = sorted[i + 1];
    if (next && p.page + p.pages > next.page)
      bad.push(`pieces ${p.label} and ${next.label} overlap`);
    if (p.backing === 'memfd' && (p.objectPages ?? p.pages) < p.pages)
      bad.push(`piece ${p.label}: the memfd is smaller than its mapping (every page is stamped)`);
    if (!['rw', 'r', 'none'].includes(p.prot)) bad.push(`piece ${p.label}: unknown prot ${p.prot}`);
    if (!['anon', 'shmem', 'memfd'].includes(p.backing))
      bad.push(`piece ${p.label}: unknown backing ${p.backing}`);
  }
  if (new Set(s.layout.map((p) => p.label)).size !== s.layout.length)
    bad.push('piece labels repeat');
  const c = s.call;
  if (!Number.isInteger(c.old) || c.old < 0 || (typeof W === 'number' && c.old + c.oldPages > W)) {
    bad.push('the old range lies outside the window');
  }
  if (!Number.isInteger(c.oldPages) || c.oldPages < 1) bad.push('old_len must be at least a page');
  if (typeof c.newPages === 'number' && (!Number.isInteger(c.newPages) || c.newPages < 1)) {
    bad.push('new_len must be at least a page');
  }
  if (typeof c.newAddr === 'number') {
    const np = typeof c.newPages === 'number' ? c.newPages : 0;
    if (c.newAddr < 0 || (typeof W === 'number' && c.newAddr + np > W))
      bad.push('the destination lies outside the window');
  }
  for (const f of c.flags)
    if (!['MAYMOVE', 'FIXED', 'DONTUNMAP'].includes(f)) bad.push(`unknown flag ${f}`);
  if (
    c.otherFlags !== undefined &&
    (!Number.isInteger(c.otherFlags) || c.otherFlags < 0 || c.otherFlags & 7)
  ) {
    bad.push('otherFlags must be bits other than MAYMOVE, FIXED and DONTUNMAP');
  }
  for (const k of ['oldShort', 'newShort', 'oldMisalign', 'newMisalign'] as const) {
    const v = c[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 4095))
      bad.push(`${k} must be 1 to 4095 bytes`);
  }
  if (
    s.pressure !== null &&
    (!Number.isInteger(s.pressure) || s.pressure > 1 || s.pressure < -4096)
  ) {
    bad.push('pressure must be an offset from M-4096 to M+1, or null');
  }
  return bad;
}
