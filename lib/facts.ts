// Facts about the machine that the placement and the model need, read once
// per run, and what a scenario needs from them.
import { effectiveCapabilities, meminfo, readNumber, type KernelFacts } from './kernel.js';
import { atLeast, type Overcommit } from './model/types.js';
import type { Scenario } from './scenarios/types.js';

export interface MachineFacts {
  pageSize: number;
  maxMapCount: number;
  version: KernelFacts['version'];
  mmapMinAddr: number;
  overcommit: Overcommit;
  /** Effective capabilities of this process (the lab child inherits them). */
  capEff: bigint;
  /** Pages a charge must exceed to fail under the heuristic overcommit (RAM + swap), with margin. */
  beyondCommit: number;
  /** TASK_SIZE in pages, measured (kernel.ts: 2^47 bytes less a page on x86-64, 2^48 on most arm64). */
  taskSizePages: number;
  /** The lab can read PROT_NONE pages (kernel.ts: readsProtNone()). */
  protNoneReadable: boolean;
}

export function machineFacts(kernel: KernelFacts, maxMapCount: number): MachineFacts {
  const P = kernel.pageSize;
  const mi = meminfo();
  const kb2p = (kb: number) => Math.floor((kb * 1024) / P);
  const totalPages = kb2p((mi.get('MemTotal') ?? 0) + (mi.get('SwapTotal') ?? 0));
  return {
    pageSize: P,
    maxMapCount,
    version: kernel.version,
    mmapMinAddr: readNumber('/proc/sys/vm/mmap_min_addr') ?? 0,
    overcommit: {
      mode: readNumber('/proc/sys/vm/overcommit_memory') ?? 0,
      totalPages,
      commitLimit: kb2p(mi.get('CommitLimit') ?? 0),
      committed: kb2p(mi.get('Committed_AS') ?? 0),
    },
    capEff: effectiveCapabilities(),
    beyondCommit: beyondCommitPages(totalPages, P),
    taskSizePages: Math.floor(kernel.taskSize / P),
    protNoneReadable: kernel.protNoneReadable,
  };
}

/** What this machine keeps the lab from seeing, for a report's notes. */
export function observationNotes(facts: Pick<MachineFacts, 'protNoneReadable'>): string[] {
  if (facts.protNoneReadable) return [];
  return [
    'this kernel does not let /proc/self/mem read PROT_NONE pages (proc_mem.force_override: CONFIG_PROC_MEM_FORCE_PTRACE or _NO_FORCE), so their contents are neither compared nor counted as lost; boot with proc_mem.force_override=always to see them (guests do)',
  ];
}

/** Why a scenario cannot run on this machine, or undefined. */
export function unmet(s: Scenario, facts: MachineFacts): string | undefined {
  const r = s.requires;
  if (!r) return undefined;
  if (r.minKernel && !atLeast(facts.version, r.minKernel[0], r.minKernel[1])) {
    return `needs Linux ${r.minKernel.join('.')} or later (this is ${facts.version.join('.')})`;
  }
  if (r.overcommitNot?.includes(facts.overcommit.mode)) {
    return `vm.overcommit_memory is ${facts.overcommit.mode}: the overcommit charge never fails`;
  }
  if (r.mmapMinAddr && facts.mmapMinAddr === 0)
    return 'vm.mmap_min_addr is 0: no address lies below it';
  return undefined;
}

/**
 * A grow the heuristic overcommit refuses (more pages than RAM + swap): a
 * quarter more than `totalPages`, rounded up to whole GiB, plus one GiB.
 */
export function beyondCommitPages(totalPages: number, pageSize: number): number {
  const gib = 2 ** 30 / pageSize;
  return Math.ceil((totalPages * 1.25) / gib) * gib + gib;
}
