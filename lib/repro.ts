// Standalone C reproducers, generated from the scenario data: a data section
// describing the case, followed by the runtime of native/repro/runtime.c that
// is the same for every case. A new scenario gets a reproducer without new code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainCase } from './explain.js';
import { PROT_BITS, flagBits, flagText } from './bits.js';
import { cycleDriftPages } from './judge/accounting.js';
import { lockedDriftPages } from './judge/locked-vm.js';
import { ERAS, type EraId } from './model/types.js';
import { packageRoot } from './native.js';
import type { RunReport } from './report/report.js';
import type { Scenario } from './scenarios/types.js';

const BACKING = { anon: 'BACK_ANON', shmem: 'BACK_SHMEM', memfd: 'BACK_MEMFD' } as const;
const INVARIANT_ENUM = {
  accounting: 'INV_ACCOUNTING',
  'in-place': 'INV_IN_PLACE',
  'locked-vm': 'INV_LOCKED_VM',
} as const;

function cString(s: string): string {
  return JSON.stringify(s).replaceAll('\\u', '\\x').replaceAll('*/', '*\\/');
}

function comment(s: string): string {
  return s.replaceAll('*/', '* /').replaceAll('/*', '/ *');
}

/** Where the era models put this case: does the invariant break, and how. */
export function modelOutcomes(
  s: Scenario,
  maxMapCount = 65530,
): { era: EraId; broken: boolean; what: string }[] {
  return ERAS.map((era) => {
    const x = explainCase(s, era, { maxMapCount });
    const r = x.prediction.ret;
    if (s.invariant === 'accounting') {
      const d = cycleDriftPages(x.prediction, x.placement);
      return {
        era,
        broken: d !== 0,
        what: d !== 0 ? `Committed_AS drifts ${d} page(s) per cycle` : 'accounts kept',
      };
    }
    if (s.invariant === 'in-place') {
      return { era, broken: !r.ok, what: r.ok ? 'succeeds' : `fails with ${r.errno}` };
    }
    if (s.invariant === 'locked-vm') {
      const d = lockedDriftPages(x.prediction, x.placement, x.start.lockedVm);
      return {
        era,
        broken: d !== 0,
        what: d !== 0 ? `${d} page(s) stay counted in locked_vm` : 'locked_vm kept',
      };
    }
    if (r.ok) return { era, broken: false, what: 'succeeds' };
    return {
      era,
      broken: x.destroyed.length > 0,
      what: x.destroyed.length
        ? `${r.errno} after destroying ${x.destroyed.map((d) => d.pieces.join('+')).join(', ')}`
        : `${r.errno}, nothing destroyed`,
    };
  });
}

export interface Sighting {
  release: string;
  era: string;
  verdict: string;
  reason: string;
}

/** The kernels where saved reports (run or matrix JSON) saw the case fail. */
export function sightings(id: string, reports: RunReport[]): Sighting[] {
  const out: Sighting[] = [];
  for (const r of reports) {
    const c = r.cases.find((x) => x.id === id);
    if (c && c.verdict.startsWith('fail')) {
      out.push({
        release: r.kernel.release,
        era: r.era.byBehaviour ?? r.era.byVersion,
        verdict: c.verdict,
        reason: c.reason,
      });
    }
  }
  return out;
}

export interface ReproOptions {
  command: string;
  version: string;
  seen: Sighting[];
  /** Kernels where the case ran and kept its invariant. */
  keptOn?: string[];
  date?: Date;
}

export function generateRepro(s: Scenario, o: ReproOptions): string {
  const c = s.call;
  const models = modelOutcomes(s);
  const broken = models.filter((m) => m.broken);
  const invariantText =
    s.invariant === 'accounting'
      ? 'mremap must change Committed_AS by exactly the charged pages it leaves mapped'
      : s.invariant === 'in-place'
        ? 'a call that needs no new VMA must not fail for map-count reasons'
        : s.invariant === 'locked-vm'
          ? 'once everything is unmapped, locked_vm (VmLck) is what it was before the layout'
          : 'a call that returns an error must leave every mapping and page as it was';
  const header = [
    '/*',
    ` * mremap-probe reproducer: ${comment(s.id)}`,
    ` * ${comment(s.summary)}`,
    ' *',
    ` * The invariant: ${invariantText}.`,
    ' *',
    ' * Seen failing on:',
    ...(o.seen.length
      ? o.seen.map(
          (x) =>
            ` *   Linux ${comment(x.release)} (behaves like era ${x.era}): ${x.verdict}: ${comment(x.reason)}`,
        )
      : [' *   (no failing run recorded when this file was written)']),
    ...(o.keptOn?.length
      ? [' * Seen keeping it on:', ...o.keptOn.map((k) => ` *   Linux ${comment(k)}`)]
      : []),
    ' * What the era models predict (mremap-probe explain):',
    ...models.map(
      (m) => ` *   ${m.era.padEnd(10)} ${m.broken ? 'BREAKS' : 'keeps '} - ${comment(m.what)}`,
    ),
    ...(broken.length ? [] : [' *   (no era model predicts a break)']),
    ' *',
    ` * Written by: ${comment(o.command)}`,
    ` *   (mremap-probe ${o.version}, ${(o.date ?? new Date()).toISOString().slice(0, 10)})`,
    ' * Build: cc -O2 -Wall -static -o repro repro.c',
    ' * Run:   ./repro    exit 0: the kernel kept the invariant, 1: it broke it, 4: could not run here',
    ' * Needs: Linux, libc; reads /proc/self/maps, /proc/self/mem, /proc/meminfo and the vm sysctls.',
    ' */',
    '',
  ];
  const pieces = s.layout.map(
    (p) =>
      `  {${cString(p.label)}, ${p.page}, ${p.pages}, ${PROT_BITS[p.prot]}, ${BACKING[p.backing]}, ${p.objectPages ?? p.pages}, ${p.mlock ? 1 : 0}},`,
  );
  const flags = flagBits(c.flags) | (c.otherFlags ?? 0);
  const beyond = c.newPages === 'beyond-commit';
  const data = [
    '/* ---- The case, generated from the scenario data. Pages count from the window start. ---- */',
    `#define CASE_ID ${cString(s.id)}`,
    `#define CASE_SUMMARY ${cString(s.summary)}`,
    'enum { BACK_ANON, BACK_SHMEM, BACK_MEMFD };',
    'enum { INV_NONE, INV_IN_PLACE, INV_ACCOUNTING, INV_LOCKED_VM };',
    '/* prot: 3 = PROT_READ|PROT_WRITE, 1 = PROT_READ, 0 = PROT_NONE */',
    'struct piece {',
    '  const char *label;',
    '  long page, pages;',
    '  int prot, backing;',
    '  long object_pages;',
    '  int mlock;',
    '};',
    'static const struct piece PIECES[] = {',
    ...(pieces.length ? pieces : ['  {"none", 0, 0, 0, BACK_ANON, 0, 0},']),
    '};',
    `#define NPIECES ${s.layout.length}`,
    'struct spec {',
    '  long window_pages, old, old_pages, new_pages;',
    '  int beyond_commit, flags;',
    '  long new_addr;',
    '  int has_new_addr, new_addr_zero, pressure_set;',
    '  long pressure, as_headroom, memlock_headroom;',
    '  int drop_ipc_lock, drop_sys_rawio, invariant;',
    '  long repeat;',
    '  int min_major, min_minor, skip_overcommit_1, needs_mmap_min_addr;',
    '  long old_short, new_short, old_misalign, new_misalign;',
    '};',
    'static const struct spec SPEC = {',
    `  .window_pages = ${typeof s.windowPages === 'number' ? s.windowPages : 0},`,
    `  .old = ${c.old},`,
    `  .old_pages = ${c.oldPages},`,
    `  .new_pages = ${beyond ? 0 : c.newPages},`,
    `  .beyond_commit = ${beyond ? 1 : 0},`,
    `  .flags = ${flags}, /* ${[flagText(c.flags), ...(c.otherFlags ? [`0x${c.otherFlags.toString(16)}`] : [])].join('|')} */`,
    `  .new_addr = ${typeof c.newAddr === 'number' ? c.newAddr : 0},`,
    `  .has_new_addr = ${c.newAddr === undefined ? 0 : 1},`,
    `  .new_addr_zero = ${c.newAddr === 'zero' ? 1 : 0},`,
    `  .pressure_set = ${s.pressure === null ? 0 : 1},`,
    `  .pressure = ${s.pressure ?? 0}, /* map count at the call: vm.max_map_count ${s.pressure === null ? '(no pressure)' : `${s.pressure >= 0 ? '+' : ''}${s.pressure}`} */`,
    `  .as_headroom = ${s.limits?.as?.headroom ?? -1}, /* RLIMIT_AS = VmSize + this many pages; -1: untouched */`,
    `  .memlock_headroom = ${s.limits?.memlock?.headroom ?? -1}, /* RLIMIT_MEMLOCK = VmLck + this many pages */`,
    `  .drop_ipc_lock = ${s.requires?.dropCaps?.includes('CAP_IPC_LOCK') ? 1 : 0},`,
    `  .drop_sys_rawio = ${s.requires?.dropCaps?.includes('CAP_SYS_RAWIO') ? 1 : 0},`,
    `  .invariant = ${s.invariant ? INVARIANT_ENUM[s.invariant] : 'INV_NONE'},`,
    `  .repeat = ${s.repeat ?? 0},`,
    `  .min_major = ${s.requires?.minKernel?.[0] ?? 0},`,
    `  .min_minor = ${s.requires?.minKernel?.[1] ?? 0},`,
    `  .skip_overcommit_1 = ${s.requires?.overcommitNot?.includes(1) ? 1 : 0},`,
    `  .needs_mmap_min_addr = ${s.requires?.mmapMinAddr ? 1 : 0},`,
    `  .old_short = ${c.oldShort ?? 0}, /* old_len this many bytes short of whole pages */`,
    `  .new_short = ${c.newShort ?? 0},`,
    `  .old_misalign = ${c.oldMisalign ?? 0}, /* addr this many bytes past a page boundary */`,
    `  .new_misalign = ${c.newMisalign ?? 0},`,
    '};',
    '',
  ];
  // The stamp code the lab child uses, then the runtime shared by every case.
  const stamp = readFileSync(join(packageRoot, 'native', 'sys', 'stamp.h'), 'utf8');
  const runtime = readFileSync(join(packageRoot, 'native', 'repro', 'runtime.c'), 'utf8');
  return [
    '#define _GNU_SOURCE',
    '#define _FILE_OFFSET_BITS 64',
    ...header,
    ...data,
    stamp,
    runtime,
  ].join('\n');
}
