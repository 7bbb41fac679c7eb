// From a placed case to a prediction: replay the layout steps the lab makes
// (map, stamp, protect, lock) in the model, then run the era's mremap path
// over the result.
import type { Placement } from '../placement.js';
import { ERA_MERGES, ERA_MODELS } from './eras/index.js';
import type { EraId, ModelEnv, Prediction } from './types.js';
import { VmaSet, type MergePolicy } from './vmas.js';

/** mm's counters when mremap() is entered, the laid-out region included. */
export interface CaseStart {
  mapCount: number;
  /** total_vm, data_vm and locked_vm, in pages. */
  totalVm: number;
  dataVm: number;
  lockedVm: number;
}

/** The region as laid out and stamped, before the call: what the lab should show. */
export function layoutState(p: Placement, start: CaseStart, merges?: MergePolicy): VmaSet {
  const s = new VmaSet(0, 0, 0, 0);
  if (merges) s.policy = merges;
  s.protNoneReadable = p.protNoneReadable;
  for (const step of p.layout) {
    const piece = p.pieces[step.piece]!.piece;
    switch (step.kind) {
      case 'memfd':
        s.addObject(p.pieces[step.piece]!.object, step.pages);
        break;
      case 'mmap': {
        const shared = step.backing !== 'anon';
        const object = p.pieces[step.piece]!.object;
        if (step.backing === 'shmem') s.addObject(object, step.pages);
        s.map({
          start: step.start,
          end: step.start + step.pages,
          read: true,
          write: true,
          exec: false,
          shared,
          backing: step.backing === 'anon' ? { kind: 'anon' } : { kind: step.backing, object },
          // An anonymous VMA's pgoff is its address in pages; a file's starts at offset 0.
          pgoff: step.backing === 'anon' ? step.start : 0,
          locked: false,
          // Private writable mappings are charged (VM_ACCOUNT), and keep it after mprotect.
          account: !shared,
          label: piece.label,
        });
        break;
      }
      case 'stamp':
        for (let k = 0; k < step.pages; k++) {
          s.write(step.start + k, { kind: 'stamp', object: step.object, page: k });
        }
        break;
      case 'mprotect':
        s.protect(step.start, step.start + step.pages, step.prot !== 0, (step.prot & 2) !== 0);
        break;
      case 'mlock':
        s.lock(step.start, step.start + step.pages);
        break;
    }
  }
  // Labels name the piece each VMA starts in: merges at mmap time and splits
  // by mprotect would otherwise leave one piece's label on another.
  for (const v of s.vmas) {
    v.label = p.pieces.find((x) => x.start <= v.start && v.start < x.end)?.piece.label ?? v.label;
  }
  // The counters as the kernel had them at the call; the region's own
  // Committed_AS charge stays relative (what the case added).
  s.mapCount = start.mapCount;
  s.totalVm = start.totalVm;
  s.dataVm = start.dataVm;
  s.lockedVm = start.lockedVm;
  return s;
}

export function predict(p: Placement, start: CaseStart, era: EraId, env: ModelEnv): Prediction {
  return ERA_MODELS[era](layoutState(p, start, ERA_MERGES[era](env.version)), p.call, env);
}
