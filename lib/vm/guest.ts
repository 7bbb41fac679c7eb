// `run` inside a VM: the kernel (fetched from Debian or given as a file), the
// guest initramfs, QEMU, and the report back from the guest.
import { existsSync } from 'node:fs';
import { SCHEMA, type RunReport } from '../report/report.js';
import { buildInitramfs, findBusybox, RequirementError } from './initramfs.js';
import { fetchKernel, type CachedKernel } from './kernels.js';
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

export interface VmResult {
  spec: string;
  kernelFile: string;
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

export async function runInVm(o: VmOptions): Promise<VmResult> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  checkVmRequirements();
  let kernelFile: string;
  let debian: CachedKernel | undefined;
  if (o.kernel) {
    if (!existsSync(o.kernel)) throw new RequirementError(`no kernel image at ${o.kernel}`);
    kernelFile = o.kernel;
  } else if (o.debian) {
    debian = await fetchKernel(o.debian, { ...(o.mirror ? { mirror: o.mirror } : {}), log });
    kernelFile = debian.vmlinuz;
  } else throw new RequirementError('give --kernel PATH or --debian SPEC');
  const initrd = buildInitramfs(process.arch, log);
  let accel: Accel = o.accel === 'kvm' || o.accel === 'tcg' ? o.accel : 'tcg';
  if (!o.accel || o.accel === 'auto')
    accel = (await kvmWorks(kernelFile, initrd, log)) ? 'kvm' : 'tcg';
  const args = [
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
  log(`booting ${debian ? `Linux ${debian.release}` : kernelFile} under ${accel.toUpperCase()}`);
  const b = await boot({
    kernel: kernelFile,
    initrd,
    args,
    accel,
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
    spec: o.debian ?? o.kernel!,
    kernelFile,
    ...(debian ? { debian } : {}),
    accel,
    elapsedMs: performance.now() - t0,
    bootMs: b.elapsedMs,
    report,
    consoleTail: b.consoleTail,
  };
}
