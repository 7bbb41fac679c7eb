// The matrix's guests: every kernel resolved first (Debian kernels fetched one
// after another: they share apt's private state), the guest user space of each
// architecture built once, then booted up to `jobs` at a time. A kernel that
// fails is a column with its error, not the end.
// With --explore, two rounds: each kernel explores with the same seed, then
// each boots again to run every kernel's findings (the union, as scenario
// files under /cases), so that each row is a finding and each cell says
// whether it holds on that kernel.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findingOrigin, scenarioFileName, scenarioFileText } from '../explore/files.js';
import type { ExploreReport } from '../report/explore.js';
import type { MatrixExplore, MatrixFinding, MatrixKernel } from '../report/matrix.js';
import type { Scenario } from '../scenarios/types.js';
import type { GuestArch } from './arch.js';
import { KernelSpecError } from './kernels.js';
import { initramfsWithCases, RequirementError } from './initramfs.js';
import { AptError } from './apt.js';
import {
  exploreGuest,
  guestKernel,
  prepareGuests,
  runGuest,
  type GuestExplore,
  type GuestKernel,
  type VmOptions,
} from './guest.js';

export interface MatrixSpec {
  kernel?: string;
  debian?: string;
  /** For a Debian kernel, the architecture to fetch it for; a kernel file has its own. */
  arch?: GuestArch;
}

/** Runs `items` through `work` with at most `jobs` at once, keeping their order. */
export async function pool<T, R>(
  items: T[],
  jobs: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return out;
}

type Setup = Awaited<ReturnType<typeof prepareGuests>>;
type Resolved = GuestKernel | { spec: string; arch?: GuestArch; error: string };

/** Every kernel resolved, and each architecture's guest prepared (or why not). */
async function resolveAll(
  specs: MatrixSpec[],
  o: VmOptions,
): Promise<{ resolved: Resolved[]; setups: Map<GuestArch, Setup | string> }> {
  const log = o.log ?? (() => {});
  const resolved: Resolved[] = [];
  for (const spec of specs) {
    const name = spec.kernel ?? spec.debian!;
    try {
      resolved.push(await guestKernel(spec, { ...(o.mirror ? { mirror: o.mirror } : {}), log }));
    } catch (err) {
      // A wrong spec or a missing tool ends the command; a kernel that cannot
      // be had is a column with its error.
      if (err instanceof RequirementError || err instanceof KernelSpecError) throw err;
      if (!(err instanceof AptError)) throw err;
      resolved.push({
        spec: name,
        ...(spec.arch ? { arch: spec.arch } : {}),
        error: (err as Error).message,
      });
    }
  }
  // Each architecture's initramfs and accelerator, probed with its first kernel.
  // A user space that cannot be fetched (another architecture's, from Debian)
  // makes that architecture's columns errors.
  const setups = new Map<GuestArch, Setup | string>();
  for (const k of resolved) {
    if (!('file' in k) || setups.has(k.arch)) continue;
    try {
      setups.set(k.arch, await prepareGuests(k.arch, k.file, o));
    } catch (err) {
      if (!(err instanceof AptError)) throw err;
      log(`no ${k.arch} guest user space: ${err.message}`);
      setups.set(k.arch, `no ${k.arch} guest user space: ${err.message}`);
    }
  }
  return { resolved, setups };
}

/** A column without a report: the kernel could not be had, or its guest failed. */
function errorColumn(k: Resolved, error: string, elapsedMs = 0): MatrixKernel {
  return {
    spec: k.spec,
    ...(k.arch ? { arch: k.arch } : {}),
    origin: 'error' in k ? `${k.spec} (not fetched)` : k.origin,
    originShort: 'error' in k ? 'not fetched' : k.originShort,
    release: null,
    elapsedMs: Math.round(elapsedMs),
    report: null,
    error,
  };
}

/** Why a resolved kernel cannot boot (no kernel, no user space), or undefined. */
function cannotBoot(k: Resolved, setups: Map<GuestArch, Setup | string>): string | undefined {
  if ('error' in k) return k.error;
  const setup = setups.get(k.arch);
  return typeof setup === 'string' ? setup : setup ? undefined : 'not booted';
}

/** Boots each kernel that can boot, `jobs` at a time; a guest that fails is its column's error. */
async function bootAll<R>(
  resolved: Resolved[],
  setups: Map<GuestArch, Setup | string>,
  o: VmOptions & { jobs: number },
  boot: (k: GuestKernel, setup: Setup, o: VmOptions, tag: string) => Promise<R>,
): Promise<(R | { error: string; elapsedMs: number })[]> {
  const log = o.log ?? (() => {});
  const n = resolved.length;
  return pool(resolved, o.jobs, async (k, i) => {
    const why = cannotBoot(k, setups);
    if (why !== undefined || 'error' in k) return { error: why ?? 'not booted', elapsedMs: 0 };
    const tag = `[${i + 1}/${n}]`;
    const t0 = performance.now();
    try {
      return await boot(
        k,
        setups.get(k.arch) as Setup,
        {
          ...o,
          log: (s) => log(`${tag} ${s}`),
          ...(o.onConsole ? { onConsole: (l: string) => o.onConsole!(`${tag} ${l}`) } : {}),
        },
        tag,
      );
    } catch (err) {
      if (err instanceof RequirementError) throw err;
      const msg = (err as Error).message;
      log(`${tag} ${k.spec}: ${msg.split('\n')[0]}`);
      return { error: msg, elapsedMs: performance.now() - t0 };
    }
  });
}

export async function runMatrix(
  specs: MatrixSpec[],
  o: VmOptions & { jobs: number },
): Promise<MatrixKernel[]> {
  const { resolved, setups } = await resolveAll(specs, o);
  const runs = await bootAll(resolved, setups, o, async (k, setup, ko, tag) => {
    const r = await runGuest(k, setup, ko);
    o.log?.(
      `${tag} Linux ${r.report.kernel.release}: era by behaviour ${r.report.era.byBehaviour}, ${(r.elapsedMs / 1000).toFixed(1)} s`,
    );
    return r;
  });
  return runs.map((r, i) => {
    const k = resolved[i]!;
    if ('error' in r || 'error' in k)
      return errorColumn(k, 'error' in r ? r.error : '', r.elapsedMs);
    return {
      spec: k.spec,
      arch: k.arch,
      origin: k.origin,
      originShort: k.originShort,
      release: r.report.kernel.release,
      ...(k.debian ? { package: `${k.debian.package} ${k.debian.packageVersion}` } : {}),
      accel: r.accel,
      elapsedMs: Math.round(r.elapsedMs),
      report: r.report,
      error: null,
    };
  });
}

/** A scenario without its id, as JSON: two kernels' findings with one such text are one finding. */
const shape = ({ id: _, ...rest }: Scenario) => JSON.stringify(rest);

/**
 * The findings of every kernel's explore, each once (by its scenario), with
 * the columns whose explore found it. A shrunk case with the id of another
 * (the same generated case shrunk to another layout elsewhere) gets the
 * column's number in its id.
 */
export function unionFindings(
  reports: (ExploreReport | null)[],
  release: (i: number) => string,
): { findings: MatrixFinding[]; files: Map<string, string> } {
  const byShape = new Map<string, MatrixFinding>();
  const ids = new Set<string>();
  const files = new Map<string, string>();
  reports.forEach((r, i) => {
    for (const f of r?.findings ?? []) {
      const key = shape(f.scenario);
      const had = byShape.get(key);
      if (had) {
        if (!had.foundOn.includes(i)) had.foundOn.push(i);
        continue;
      }
      const id = ids.has(f.scenario.id)
        ? f.scenario.id.replace(/(@[^@]*)?$/, (m) => `-k${i + 1}${m}`)
        : f.scenario.id;
      ids.add(id);
      const scenario = { ...f.scenario, id };
      const finding: MatrixFinding = {
        id,
        signature: f.signature,
        kind: f.kind,
        verdict: f.verdict,
        reason: f.reason,
        foundOn: [i],
        scenario,
      };
      byShape.set(key, finding);
      files.set(
        scenarioFileName(id),
        scenarioFileText(scenario, findingOrigin(r!, f, 'matrix --explore', release(i))),
      );
    }
  });
  return { findings: [...byShape.values()], files };
}

/**
 * The matrix with --explore: every kernel explores with one seed, then every
 * kernel runs the union of the findings. Each column's report is that second
 * run; its `explore` says what its own explore did and found.
 */
export async function exploreMatrix(
  specs: MatrixSpec[],
  o: VmOptions & { jobs: number; explore: GuestExplore },
): Promise<{ kernels: MatrixKernel[]; explore: MatrixExplore; files: Map<string, string> }> {
  const log = o.log ?? (() => {});
  const { resolved, setups } = await resolveAll(specs, o);
  log(
    `round 1: ${resolved.length} kernels explore with seed ${o.explore.seed} for ${(o.explore.budgetMs / 1000).toFixed(0)} s each`,
  );
  const explored = await bootAll(resolved, setups, o, async (k, setup, ko, tag) => {
    const r = await exploreGuest(k, setup, { ...ko, explore: o.explore });
    log(
      `${tag} Linux ${r.explore.kernel.release}: ${r.explore.cases.run} cases (${r.explore.cases.perSecond}/s), ${r.explore.summary.findings} finding(s), ${(r.elapsedMs / 1000).toFixed(1)} s`,
    );
    return r;
  });
  const reports = explored.map((r) => ('explore' in r ? r.explore : null));
  const { findings, files } = unionFindings(reports, (i) => reports[i]?.kernel.release ?? '');
  const work = mkdtempSync(join(tmpdir(), 'mp-matrix-'));
  try {
    // Each architecture's initramfs with the findings under /cases.
    const withCases = new Map<GuestArch, Setup | string>();
    for (const [arch, s] of setups) {
      withCases.set(
        arch,
        typeof s === 'string' || !files.size
          ? s
          : { ...s, initrd: initramfsWithCases(s.initrd, files, work) },
      );
    }
    if (files.size) log(`round 2: ${files.size} finding(s) on each of ${resolved.length} kernels`);
    const reruns = files.size
      ? await bootAll(resolved, withCases, { ...o, casesOnly: true }, (k, setup, ko) =>
          runGuest(k, setup, { ...ko, casesOnly: true }),
        )
      : resolved.map(() => null);
    const kernels = resolved.map((k, i): MatrixKernel => {
      const e = explored[i]!;
      const r = reruns[i];
      const ex = 'explore' in e ? e : null;
      const run = r && 'report' in r ? r : null;
      const error =
        'error' in e ? `explore: ${e.error}` : r && 'error' in r ? `findings: ${r.error}` : null;
      if ('error' in k || !ex) return errorColumn(k, error ?? 'not booted', e.elapsedMs);
      return {
        spec: k.spec,
        arch: k.arch,
        origin: k.origin,
        originShort: k.originShort,
        release: ex.explore.kernel.release,
        ...(k.debian ? { package: `${k.debian.package} ${k.debian.packageVersion}` } : {}),
        accel: ex.accel,
        elapsedMs: Math.round(ex.elapsedMs + (run?.elapsedMs ?? 0)),
        report: run?.report ?? null,
        error,
        explore: {
          seed: ex.explore.seed,
          elapsedMs: ex.explore.elapsedMs,
          cases: ex.explore.cases.run,
          perSecond: ex.explore.cases.perSecond,
          byBehaviour: ex.explore.era.byBehaviour,
          judgedBy: ex.explore.era.judgedBy,
          counts: ex.explore.counts,
          modelGapCases: ex.explore.modelGaps.cases,
          findings: ex.explore.findings.map((f) => f.signature),
          notes: ex.explore.notes,
        },
      };
    });
    return {
      kernels,
      explore: { seed: o.explore.seed, budgetMs: o.explore.budgetMs, findings, saved: null },
      files,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
