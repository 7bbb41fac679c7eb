// `run` inside a VM: the kernel (fetched from Debian, built, or given as a
// file), the guest initramfs, QEMU, and the report back from the guest.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { SCHEMA, type RunReport } from '../report/report.js';
import type { BuiltFrom } from './build.js';
import { buildInitramfs, findBusybox, RequirementError } from './initramfs.js';
import { fetchKernel, listKernels, type CachedKernel } from './kernels.js';
import { boot, findQemu, GuestError, kvmWorks, type Accel } from './qemu.js';

export interface VmOptions {
  /** A kernel image file, or a Debian spec to fetch. */
  kernel?: string;
  debian?: string;
  mirror?: string;
  filters?: string[];
  era?: string;
  accel?: Accel | 'auto';
  memoryMb?: number;
  timeoutMs?: number;
  /** vm.max_map_count inside the guest (lowered there: the guest is thrown away). */
  guestLimit?: number;
  log?: (s: string) => void;
  onConsole?: (line: string) => void;
}

/** A kernel to boot, and where it came from. */
export interface GuestKernel {
  /** What the user asked for: a Debian spec or a file. */
  spec: string;
  file: string;
  /** For people: "Debian linux-image-... 6.12.57-1 (trixie)", "built from DIR ...", "file PATH". */
  origin: string;
  /** The same in a few words, for a column's header. */
  originShort: string;
  debian?: CachedKernel;
  built?: BuiltFrom;
}

export interface VmResult {
  spec: string;
  kernelFile: string;
  origin: string;
  originShort: string;
  debian?: CachedKernel;
  accel: Accel;
  elapsedMs: number;
  bootMs: number;
  report: RunReport;
  consoleTail: string;
}

export const DEFAULT_GUEST_LIMIT = 4096;

/** Checks what the VM needs before any work, with how to install it. */
export function checkVmRequirements(): void {
  findQemu();
  findBusybox();
}

/** Where a built kernel came from, in words. */
export function builtOrigin(b: BuiltFrom): string {
  return `built from ${b.source} (Linux ${b.treeVersion}, ${b.describe})`;
}

/**
 * A kernel file, with its origin: a kernel `kernels build` made (found in the
 * cache by its sha256) says which tree and version it was built from.
 */
export function kernelFile(path: string): GuestKernel {
  if (!existsSync(path)) throw new RequirementError(`no kernel image at ${path}`);
  const sum = createHash('sha256').update(readFileSync(path)).digest('hex');
  const built = listKernels().find((k) => k.built && k.sha256 === sum);
  const b = built?.built;
  return {
    spec: path,
    file: path,
    origin: b ? builtOrigin(b) : `file ${resolve(path)}`,
    originShort: b
      ? `built: ${basename(b.source)} ${b.treeVersion}${b.git ? ` ${b.git.head.slice(0, 7)}${b.git.dirty ? '+' : ''}` : ''}`
      : `file: ${basename(path)}`,
    ...(b ? { built: b } : {}),
  };
}

export function debianOrigin(k: CachedKernel): string {
  return `Debian ${k.package} ${k.packageVersion} (${k.suite})`;
}

/** Resolves what the user asked for to a kernel file, fetching a Debian kernel when needed. */
export async function guestKernel(
  spec: { kernel?: string; debian?: string },
  o: { mirror?: string; log?: (s: string) => void } = {},
): Promise<GuestKernel> {
  if (spec.kernel) return kernelFile(spec.kernel);
  if (!spec.debian) throw new RequirementError('give --kernel PATH or --debian SPEC');
  const debian = await fetchKernel(spec.debian, {
    ...(o.mirror ? { mirror: o.mirror } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  return {
    spec: spec.debian,
    file: debian.vmlinuz,
    origin: debianOrigin(debian),
    originShort: `Debian ${debian.packageVersion} (${debian.suite})`,
    debian,
  };
}

/** The initramfs, and the accelerator (KVM probed once with the first kernel). */
export async function prepareGuests(
  probeKernel: string,
  o: Pick<VmOptions, 'accel' | 'log'>,
): Promise<{ initrd: string; accel: Accel }> {
  checkVmRequirements();
  const initrd = buildInitramfs(process.arch, o.log);
  const accel: Accel =
    o.accel === 'kvm' || o.accel === 'tcg'
      ? o.accel
      : (await kvmWorks(probeKernel, initrd, o.log))
        ? 'kvm'
        : 'tcg';
  return { initrd, accel };
}

/** The probe's arguments inside the guest. */
function guestArgs(o: VmOptions): string[] {
  return [
    'run',
    '--format',
    'json',
    '--no-progress',
    '--lower-limit',
    String(o.guestLimit ?? DEFAULT_GUEST_LIMIT),
    '--allow-global-effects',
    ...(o.filters ?? []).flatMap((f) => ['--filter', f]),
    ...(o.era ? ['--era', o.era] : []),
  ];
}

/** Boots one prepared kernel and brings its run report back. */
export async function runGuest(
  k: GuestKernel,
  setup: { initrd: string; accel: Accel },
  o: VmOptions,
): Promise<VmResult> {
  const t0 = performance.now();
  o.log?.(
    `booting ${k.debian ? `Linux ${k.debian.release}` : k.file} under ${setup.accel.toUpperCase()}`,
  );
  const b = await boot({
    kernel: k.file,
    initrd: setup.initrd,
    args: guestArgs(o),
    accel: setup.accel,
    ...(o.memoryMb ? { memoryMb: o.memoryMb } : {}),
    timeoutMs: o.timeoutMs ?? 600_000,
    ...(o.onConsole ? { onConsole: o.onConsole } : {}),
  });
  let report: RunReport;
  try {
    report = JSON.parse(b.report.toString('utf8')) as RunReport;
  } catch {
    throw new GuestError(
      `the guest's probe did not write a JSON report (exit status ${b.status})`,
      b.consoleTail,
    );
  }
  if (report.schema !== SCHEMA)
    throw new GuestError(`the guest wrote a report of schema ${report.schema}`, b.consoleTail);
  return {
    spec: k.spec,
    kernelFile: k.file,
    origin: k.origin,
    originShort: k.originShort,
    ...(k.debian ? { debian: k.debian } : {}),
    accel: setup.accel,
    elapsedMs: performance.now() - t0,
    bootMs: b.elapsedMs,
    report,
    consoleTail: b.consoleTail,
  };
}

/** One kernel, start to end: resolve it, prepare the guest, boot it. */
export async function runInVm(o: VmOptions): Promise<VmResult> {
  const t0 = performance.now();
  checkVmRequirements();
  const k = await guestKernel(
    { ...(o.kernel ? { kernel: o.kernel } : {}), ...(o.debian ? { debian: o.debian } : {}) },
    { ...(o.mirror ? { mirror: o.mirror } : {}), ...(o.log ? { log: o.log } : {}) },
  );
  const setup = await prepareGuests(k.file, o);
  const r = await runGuest(k, setup, o);
  return { ...r, elapsedMs: performance.now() - t0 };
}
