// What running a case in the lab gives back: the observation the judge holds
// against the model. Types only: the lab fills them, the judge reads them.
import type { Snapshot } from './judge/evidence.js';
import type { CaseStart } from './model/predict.js';
import type { Placement } from './placement.js';

export interface Observation {
  /** The call's return: its value, or the errno. */
  ret: { ok: true; value: bigint } | { ok: false; errno: string };
  /** The case's ranges before and after the call: VMAs and the pages read back. */
  before: Snapshot;
  after: Snapshot;
  mapCountBefore: number;
  mapCountAfter: number;
  /** How the map count was known: counted (exact) or tracked from the region (exact while nothing else moved). */
  mapCountMethod: 'counted' | 'tracked';
  /** The query method: PROCMAP_QUERY or the maps text. */
  queryMethod: 'ioctl' | 'text';
  /**
   * Where the kernel put a range it picked (first page), when that lies
   * outside the case's ranges; `after` shows it at the placement's `picked`.
   */
  movedTo?: number;
}

/** What the kernel's checks read in this case, besides the VMAs. */
export interface CaseInputs {
  totalVm: number;
  dataVm: number;
  lockedVm: number;
  rlimitAs: number;
  rlimitData: number;
  rlimitMemlock: number;
  capIpcLock: boolean;
  capSysRawio: boolean;
}

/** Committed_AS measured around repeated cycles of one accounting case (kB as /proc/meminfo gives it). */
export interface AccountingMeasure {
  iterations: number;
  /** Committed_AS change over the cycles without the mremap (map and unmap only): the noise floor. */
  controlDeltaKb: number;
  /** Committed_AS change over the cycles with the mremap. */
  testDeltaKb: number;
  /** (test - control) per cycle, in pages, the median over the cycles: 0 when the kernel keeps its accounts. */
  driftPagesPerCycle: number;
  /** A cycle read step by step, from the end of its control: after the mmap, the mremap and the unmap (kB; medians over the cycles). */
  oneCycleKb: { mapped: number; called: number; unmapped: number };
  /** Committed_AS after the lab child exited, minus before it was forked (kB). */
  exitResidualKb: number;
}

/** One case's run: skipped or broken with the reason, or observed. */
export type CaseRun =
  { status: 'skip'; reason: string } | { status: 'broken'; reason: string } | ObservedRun;

export interface ObservedRun {
  status: 'observed';
  placement: Placement;
  obs: Observation;
  inputs: CaseInputs;
  elapsedMs: number;
  accounting?: AccountingMeasure;
  /** locked-vm cases: the child's VmLck (kB) before the layout and after the window was unmapped. */
  lockedVm?: { beforeKb: number; afterKb: number };
}

/** mm's counters at the call, as the model starts from them. */
export function caseStart(run: Pick<ObservedRun, 'obs' | 'inputs'>): CaseStart {
  return {
    mapCount: run.obs.mapCountBefore,
    totalVm: run.inputs.totalVm,
    dataVm: run.inputs.dataVm,
    lockedVm: run.inputs.lockedVm,
  };
}
