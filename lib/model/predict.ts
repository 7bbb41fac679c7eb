// From a scenario to a prediction: lay the scenario's region out in the model,
// stamp it as the lab does, and run the era's mremap path over it.
import type { Scenario } from '../scenarios/types.js';
import { ERA_MODELS } from './eras/index.js';
import {
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  type EraId,
  type ModelEnv,
  type MremapCall,
  type Prediction,
} from './types.js';
import { VmaSet, type ModelVma } from './vmas.js';

/** A scenario with the machine-dependent sizes resolved and the window placed. */
export interface PlacedCase {
  scenario: Scenario;
  /** Page number of the window's first page. */
  window: number;
  windowPages: number;
  newPages: number;
  /** mm->map_count when mremap() is entered. */
  mapCount: number;
  /** total_vm, data_vm and locked_vm (pages) at the call, region included. */
  totalVm: number;
  dataVm: number;
  lockedVm: number;
}

export const FLAG_BITS = {
  MAYMOVE: MREMAP_MAYMOVE,
  FIXED: MREMAP_FIXED,
  DONTUNMAP: MREMAP_DONTUNMAP,
} as const;

export function callOf(pc: PlacedCase): MremapCall {
  const c = pc.scenario.call;
  return {
    old: pc.window + c.old,
    oldLen: c.oldPages,
    newLen: pc.newPages,
    flags: c.flags.reduce((f, n) => f | FLAG_BITS[n], 0),
    newAddr: c.newAddr === undefined ? 0 : c.newAddr === 'zero' ? 0 : pc.window + c.newAddr,
  };
}

/** Piece i carries stamps of object i + 1, page by page. */
export function objectOf(pieceIndex: number): number {
  return pieceIndex + 1;
}

/** The region as laid out and stamped, before the call: what the lab should show. */
export function layoutState(pc: PlacedCase): VmaSet {
  const layout = pc.scenario.layout;
  const pagesOf = (p: (typeof layout)[number]) => p.pages;
  const total = layout.reduce((n, p) => n + pagesOf(p), 0);
  const data = layout
    .filter((p) => p.backing === 'anon')
    .reduce((n, p) => n + (p.prot === 'rw' ? p.pages : 0), 0);
  const locked = layout.filter((p) => p.mlock).reduce((n, p) => n + p.pages, 0);
  // The set starts without the region; mapping the pieces brings it to the counts at the call.
  const s = new VmaSet(
    pc.mapCount - layout.length,
    pc.totalVm - total,
    pc.dataVm - data,
    pc.lockedVm - locked,
  );
  layout.forEach((p, i) => {
    const object = objectOf(i);
    const shared = p.backing !== 'anon';
    if (shared) s.addObject(object, p.backing === 'memfd' ? (p.objectPages ?? p.pages) : p.pages);
    const v: Omit<ModelVma, 'anon'> = {
      start: pc.window + p.page,
      end: pc.window + p.page + p.pages,
      read: p.prot !== 'none',
      write: p.prot === 'rw',
      exec: false,
      shared,
      backing: p.backing === 'anon' ? { kind: 'anon' } : { kind: p.backing, object },
      pgoff: p.backing === 'anon' ? pc.window + p.page : 0,
      locked: p.mlock === true,
      // Private mappings made writable are charged (VM_ACCOUNT), and keep it after mprotect.
      account: !shared,
      label: p.label,
    };
    s.map(v);
    for (let k = 0; k < p.pages; k++) s.write(v.start + k, { kind: 'stamp', object, page: k });
  });
  return s;
}

export function predict(pc: PlacedCase, era: EraId, env: ModelEnv): Prediction {
  return ERA_MODELS[era](layoutState(pc), callOf(pc), env);
}
