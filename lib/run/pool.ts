// The lab children of one run and the order cases run in: one child with
// fillers for every case (the capabilities a case gives up leave only the
// child's effective set, for that case), one per accounting case.
// What keeps a case from running here (a requirement, a hazard, a limit too
// large to reach, the limit changing under the run) makes it `skip` with the
// reason; a child that dies makes its case `broken` and is replaced.
import type { MachineFacts } from '../facts.js';
import { unmet } from '../facts.js';
import { readMaxMapCount } from '../kernel.js';
import { LabHazardError } from '../lab.js';
import type { CaseRun } from '../observation.js';
import { PressureLab, DEFAULT_MAX_FILL } from '../pressure.js';
import type { Scenario } from '../scenarios/types.js';
import { accountingCycles, committedKb } from './accounting.js';
import { executeCase, type CapState } from './execute.js';

export interface PoolOptions {
  facts: MachineFacts;
  timeoutMs?: number;
  maxFill?: number;
  /** Run the cases that change machine-wide state for good on a misbehaving kernel. */
  allowGlobalEffects?: boolean;
  /** Why vm.max_map_count is no longer the run's limit, when it changed (read before and after each case). */
  limitChanged?: () => string | undefined;
}

interface Slot {
  pl: PressureLab;
  caps: CapState;
}

/** Run order: no pressure first, then lower counts first. */
export function runRank(s: Scenario): number {
  return s.pressure === null ? -1000 : s.pressure;
}

/** The locked memory (kB) a lab child may have leaked before it is replaced. */
const LOCKED_LEAK_KB = 1024;

/** Lets signal handlers and timers run between cases. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class LabPool {
  /**
   * The lab child. One serves every case: the capabilities a case gives up
   * leave the child's effective set only, and come back for the next case.
   */
  private slot?: Slot;
  private verifiedOnce = false;
  /** Set when the main lab cannot be used (hazard): every case that needs it is skipped with this. */
  private hazard?: string;
  readonly facts: MachineFacts;
  private readonly options: PoolOptions;

  constructor(options: PoolOptions) {
    this.options = options;
    this.facts = options.facts;
  }

  private get maxFill(): number {
    return this.options.maxFill ?? DEFAULT_MAX_FILL;
  }

  /** A lab child; with fillers only when the limit can be reached (cases without pressure need none). */
  private open(): PressureLab {
    return PressureLab.open(this.facts.maxMapCount, {
      maxFill: this.maxFill,
      fillers: this.facts.maxMapCount <= this.maxFill,
      ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
    });
  }

  private child(): Slot {
    this.slot ??= { pl: this.open(), caps: { without: '' } };
    return this.slot;
  }

  /** Ends the lab child (a new one takes the next case). */
  private retire(slot: Slot): void {
    if (this.slot === slot) this.slot = undefined;
    slot.pl.close();
  }

  /** The labs' environments as their children report them (limits raised, PROCMAP_QUERY). */
  environments(): PressureLab['environment'][] {
    return this.slot ? [this.slot.pl.environment] : [];
  }

  /** Counts the child's maps and compares with the tracking; returns the discrepancy, if any. */
  verifyTracking(): string | undefined {
    const pl = this.slot?.pl;
    if (!pl?.lab.alive) return undefined;
    const tracked = pl.trackedCount;
    const counted = pl.count();
    return tracked === counted
      ? undefined
      : `the lab child holds ${counted} VMAs but ${tracked} were tracked: something outside the regions changed`;
  }

  close(): void {
    if (this.slot) this.retire(this.slot);
  }

  /**
   * Runs scenarios in the order that needs the fewest filler changes (runRank),
   * yielding to the event loop between cases; results come back in the given order.
   */
  async runAll(
    scenarios: Scenario[],
    onCase?: (done: number, total: number, s: Scenario) => void,
  ): Promise<CaseRun[]> {
    const order = scenarios
      .map((s, i) => ({ s, i }))
      .sort((a, b) => runRank(a.s) - runRank(b.s) || a.i - b.i);
    const out: CaseRun[] = new Array(scenarios.length);
    for (const [done, { s, i }] of order.entries()) {
      onCase?.(done, scenarios.length, s);
      await turn();
      out[i] = this.runWatched(s);
    }
    onCase?.(scenarios.length, scenarios.length, scenarios.at(-1)!);
    return out;
  }

  /** Runs a case, and skips it instead when vm.max_map_count was not the run's limit before or after it. */
  private runWatched(s: Scenario): CaseRun {
    const changed = () => this.options.limitChanged?.();
    const before = changed();
    if (before) return { status: 'skip', reason: before };
    const r = this.run(s);
    const after = changed();
    return after ? { status: 'skip', reason: after } : r;
  }

  run(s: Scenario): CaseRun {
    const t0 = performance.now();
    const why = unmet(s, this.facts);
    if (why) return { status: 'skip', reason: why };
    if (s.requires?.globalEffects && !this.options.allowGlobalEffects) {
      return {
        status: 'skip',
        reason:
          'leaves Committed_AS changed for good on a kernel that leaks: run it with --allow-global-effects, or in a vm guest',
      };
    }
    if (s.invariant === 'accounting') return this.runAccounting(s, t0);
    if (this.hazard) return { status: 'skip', reason: this.hazard };
    if (s.pressure !== null && this.facts.maxMapCount > this.maxFill) {
      return {
        status: 'skip',
        reason: `could not run here: vm.max_map_count is ${this.facts.maxMapCount}, too large to reach (more than ${this.maxFill} VMAs); as root, --lower-limit N lowers it for the run and restores it, or --max-fill raises the ceiling`,
      };
    }
    let slot: Slot;
    try {
      slot = this.child();
    } catch (err) {
      if (err instanceof LabHazardError) {
        this.hazard = `could not run here: ${err.message}`;
        return { status: 'skip', reason: this.hazard };
      }
      throw err;
    }
    const pl = slot.pl;
    if (!pl.lab.alive)
      return { status: 'broken', reason: `the lab child is gone: ${JSON.stringify(pl.lab.end)}` };
    // The map count is counted, not tracked, for the first case under pressure
    // and for every case before it.
    const verify = !this.verifiedOnce;
    if (s.pressure !== null) this.verifiedOnce = true;
    try {
      const r = executeCase(pl, s, { facts: this.facts, verify, caps: slot.caps });
      if (r.status === 'observed') r.elapsedMs = performance.now() - t0;
      // A kernel that leaks locked_vm (MREMAP_DONTUNMAP of mlocked VMAs before
      // the 2026 fix) would bring the child to its RLIMIT_MEMLOCK: a fresh one
      // takes over before that changes what the cases can do.
      if (pl.lockedKb > LOCKED_LEAK_KB) this.retire(slot);
      return r;
    } catch (err) {
      // A dead child or a failed harness step: the case is broken, the run goes on.
      if (!pl.lab.alive) this.retire(slot);
      return { status: 'broken', reason: (err as Error).message };
    }
  }

  /** An accounting case in a child of its own. */
  private runAccounting(s: Scenario, t0: number): CaseRun {
    const before = committedKb();
    let pl: PressureLab;
    try {
      pl = this.open();
    } catch (err) {
      if (err instanceof LabHazardError)
        return { status: 'skip', reason: `could not run here: ${err.message}` };
      throw err;
    }
    let first: CaseRun;
    let measure;
    try {
      first = executeCase(pl, s, {
        facts: this.facts,
        verify: !this.verifiedOnce,
        caps: { without: '' },
      });
      if (first.status !== 'observed') return first;
      measure = accountingCycles(pl, first.placement, s.repeat ?? 200);
    } catch (err) {
      return { status: 'broken', reason: (err as Error).message };
    } finally {
      pl.close();
    }
    return {
      ...first,
      accounting: { ...measure, exitResidualKb: committedKb() - before },
      elapsedMs: performance.now() - t0,
    };
  }
}

/** A watch on vm.max_map_count for a run: says why it is no longer `limit`, when it is not. */
export function watchLimit(
  limit: number,
  holder?: () => string | undefined,
): () => string | undefined {
  return () => {
    let now: number;
    try {
      now = readMaxMapCount();
    } catch {
      return undefined;
    }
    if (now === limit) return undefined;
    const who = holder?.();
    return `vm.max_map_count changed under the run (${limit} -> ${now})${who ? `: ${who}` : ''}; the case was not judged`;
  };
}
