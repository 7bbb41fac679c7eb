// `run` inside a VM: the kernel (fetched from Debian, built, or given as a
// file), the guest initramfs, QEMU, and the report back from the guest.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { EXPLORE_SCHEMA, type ExploreReport } from '../report/explore.js';
import { SCHEMA, type RunReport } from '../report/report.js';
import { ARCHES, hostArch, imageArch, imageHead, type GuestArch } from './arch.js';
import type { BuiltFrom } from './build.js';
import { buildInitramfs, findBusybox, RequirementError } from './initramfs.js';
import { fetchKernel, KernelSpecError, listKernels, type CachedKernel } from './kernels.js';
import { boot, findQemu, GuestError, kvmWorks, type Accel } from './qemu.js';

export interface VmOptions {
  /** A kernel image file, or a Debian spec to fetch. */
  kernel?: string;
  debian?: string;
  /** The guest's architecture: Debian kernels default to x86_64, a kernel file has its own. */
  arch?: GuestArch;
  mirror?: string;
  filters?: string[];
  era?: string;
  accel?: Accel | 'auto';
  memoryMb?: number;
  /** More kernel parameters for the guest (--append). */
  kernelArgs?: string;
  timeoutMs?: number;
  /** vm.max_map_count inside the guest (lowered there: the guest is thrown away). */
  guestLimit?: number;
  /** Explore in the guest instead of running the catalogue (exploreGuest). */
  explore?: GuestExplore;
  /** Run only the scenario files the initramfs holds under /cases (initramfsWithCases). */
  casesOnly?: boolean;
  log?: (s: string) => void;
  onConsole?: (line: string) => void;
}

/** A kernel to boot, and where it came from. */
export interface GuestKernel {
  /** What the user asked for: a Debian spec or a file. */
  spec: string;
  arch: GuestArch;
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
  arch: GuestArch;
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

/** `explore` in a guest: one seed for every kernel, and its time budget. */
export interface GuestExplore {
  seed: number;
  budgetMs: number;
}

/** What exploreGuest() brings back: the guest's explore report instead of a run report. */
export type VmExploreResult = Omit<VmResult, 'report'> & { explore: ExploreReport };

/** How long a guest may take beyond its explore budget (booting, shrinking the findings). */
export const EXPLORE_MARGIN_MS = 1_200_000;

/**
 * Checks what guests of these architectures need before any work, with how
 * to install it; KVM runs only this machine's own.
 */
export function checkVmRequirements(
  arches: GuestArch[] = ['x86_64'],
  accel: VmOptions['accel'] = 'auto',
): void {
  for (const a of new Set(arches)) {
    if (accel === 'kvm' && a !== hostArch())
      throw new RequirementError(`KVM cannot run an ${a} guest on this ${process.arch} machine`);
    findQemu(a);
    // Another architecture's busybox comes from Debian, with its node.
    if (a === hostArch()) findBusybox();
  }
}

/**
 * The architecture a kernel file boots on: its header's (an x86 bzImage, an
 * arm64 Image), else `asked`, else x86_64. An image of another architecture
 * than `asked` is a KernelSpecError.
 */
export function kernelFileArch(path: string, asked?: GuestArch): GuestArch {
  const found = imageArch(imageHead(path));
  if (found && asked && found !== asked)
    throw new KernelSpecError(`--kernel ${path} is an ${found} image, not ${asked}`);
  return found ?? asked ?? 'x86_64';
}

/** Where a built kernel came from, in words. */
export function builtOrigin(b: BuiltFrom): string {
  return `built from ${b.source} (Linux ${b.treeVersion}, ${b.describe})`;
}

/**
 * A kernel file, with its origin: a kernel `kernels build` made (found in the
 * cache by its sha256) says which tree and version it was built from.
 */
export function kernelFile(path: string, asked?: GuestArch): GuestKernel {
  if (!existsSync(path)) throw new RequirementError(`no kernel image at ${path}`);
  const arch = kernelFileArch(path, asked);
  const sum = createHash('sha256').update(readFileSync(path)).digest('hex');
  const built = listKernels().find((k) => k.built && k.sha256 === sum);
  const b = built?.built;
  return {
    spec: path,
    arch,
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
  spec: { kernel?: string; debian?: string; arch?: GuestArch },
  o: { mirror?: string; log?: (s: string) => void } = {},
): Promise<GuestKernel> {
  if (spec.kernel) return kernelFile(spec.kernel, spec.arch);
  if (!spec.debian) throw new RequirementError('give --kernel PATH or --debian SPEC');
  const arch = spec.arch ?? 'x86_64';
  const debian = await fetchKernel(spec.debian, {
    arch,
    ...(o.mirror ? { mirror: o.mirror } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  // A flavour other than the cloud one is named in the column's header.
  const flavour =
    debian.flavour && debian.flavour !== ARCHES[arch].flavours.cloud ? ` ${debian.flavour}` : '';
  return {
    spec: spec.debian,
    arch,
    file: debian.vmlinuz,
    origin: debianOrigin(debian),
    originShort: `Debian ${debian.packageVersion}${flavour} (${debian.suite})`,
    debian,
  };
}

/**
 * The initramfs for guests of `arch`, and the accelerator: KVM only for this
 * machine's architecture (probed once with the first kernel), TCG otherwise.
 */
export async function prepareGuests(
  arch: GuestArch,
  probeKernel: string,
  o: Pick<VmOptions, 'accel' | 'log'>,
): Promise<{ initrd: string; accel: Accel }> {
  checkVmRequirements([arch], o.accel);
  const native = arch === hostArch();
  const initrd = buildInitramfs(arch, o.log);
  const accel: Accel =
    o.accel === 'kvm' || o.accel === 'tcg'
      ? o.accel
      : native && (await kvmWorks(arch, probeKernel, initrd, o.log))
        ? 'kvm'
        : 'tcg';
  return { initrd, accel };
}

/** The probe's arguments inside the guest: run (the catalogue or /cases), or explore. */
export function guestArgs(o: VmOptions): string[] {
  const limit = ['--lower-limit', String(o.guestLimit ?? DEFAULT_GUEST_LIMIT)];
  const era = o.era ? ['--era', o.era] : [];
  if (o.explore) {
    return [
      'explore',
      '--seed',
      String(o.explore.seed),
      '--budget',
      `${o.explore.budgetMs}ms`,
      '--format',
      'json',
      '--no-progress',
      ...limit,
      '--allow-global-effects',
      ...era,
    ];
  }
  const select = o.casesOnly
    ? ['--cases', '/cases', '--filter', 'explore/**']
    : (o.filters ?? []).flatMap((f) => ['--filter', f]);
  return [
    'run',
    '--format',
    'json',
    '--no-progress',
    ...limit,
    '--allow-global-effects',
    ...select,
    ...era,
  ];
}

/** Boots one prepared kernel and parses the JSON report of schema `schema` it sends back. */
async function bootFor<T extends { schema: string }>(
  k: GuestKernel,
  setup: { initrd: string; accel: Accel },
  o: VmOptions,
  schema: string,
  timeoutMs: number,
): Promise<{ json: T; result: Omit<VmResult, 'report'> }> {
  const t0 = performance.now();
  o.log?.(
    `booting ${k.debian ? `Linux ${k.debian.release}` : k.file} under ${setup.accel.toUpperCase()}${k.arch === hostArch() ? '' : ` (${k.arch})`}${o.explore ? `: explore --seed ${o.explore.seed} for ${(o.explore.budgetMs / 1000).toFixed(0)} s` : ''}`,
  );
  const b = await boot({
    arch: k.arch,
    kernel: k.file,
    initrd: setup.initrd,
    args: guestArgs(o),
    accel: setup.accel,
    ...(o.memoryMb ? { memoryMb: o.memoryMb } : {}),
    ...(o.kernelArgs ? { kernelArgs: o.kernelArgs } : {}),
    timeoutMs,
    ...(o.onConsole ? { onConsole: o.onConsole } : {}),
  });
  let json: T;
  try {
    json = JSON.parse(b.report.toString('utf8')) as T;
  } catch {
    throw new GuestError(
      `the guest's probe did not write a JSON report (exit status ${b.status})`,
      b.consoleTail,
    );
  }
  if (json.schema !== schema)
    throw new GuestError(`the guest wrote a report of schema ${json.schema}`, b.consoleTail);
  return {
    json,
    result: {
      spec: k.spec,
      arch: k.arch,
      kernelFile: k.file,
      origin: k.origin,
      originShort: k.originShort,
      ...(k.debian ? { debian: k.debian } : {}),
      accel: setup.accel,
      elapsedMs: performance.now() - t0,
      bootMs: b.elapsedMs,
      consoleTail: b.consoleTail,
    },
  };
}

/** Boots one prepared kernel and brings its run report back. */
export async function runGuest(
  k: GuestKernel,
  setup: { initrd: string; accel: Accel },
  o: VmOptions,
): Promise<VmResult> {
  const { explore: _, ...run } = o;
  const r = await bootFor<RunReport>(k, setup, run, SCHEMA, o.timeoutMs ?? 600_000);
  return { ...r.result, report: r.json };
}

/** Boots one prepared kernel, explores there (o.explore) and brings its explore report back. */
export async function exploreGuest(
  k: GuestKernel,
  setup: { initrd: string; accel: Accel },
  o: VmOptions & { explore: GuestExplore },
): Promise<VmExploreResult> {
  const timeout = o.timeoutMs ?? o.explore.budgetMs + EXPLORE_MARGIN_MS;
  const r = await bootFor<ExploreReport>(k, setup, o, EXPLORE_SCHEMA, timeout);
  return { ...r.result, explore: r.json };
}

/** One kernel resolved (a Debian kernel fetched) and its guest prepared. */
async function oneGuest(o: VmOptions) {
  if (o.debian) checkVmRequirements([o.arch ?? 'x86_64'], o.accel);
  const k = await guestKernel(
    {
      ...(o.kernel ? { kernel: o.kernel } : {}),
      ...(o.debian ? { debian: o.debian } : {}),
      ...(o.arch ? { arch: o.arch } : {}),
    },
    { ...(o.mirror ? { mirror: o.mirror } : {}), ...(o.log ? { log: o.log } : {}) },
  );
  return { k, setup: await prepareGuests(k.arch, k.file, o) };
}

/** One kernel, start to end: resolve it, prepare the guest, boot it. */
export async function runInVm(o: VmOptions): Promise<VmResult> {
  const t0 = performance.now();
  const { k, setup } = await oneGuest(o);
  const r = await runGuest(k, setup, o);
  return { ...r, elapsedMs: performance.now() - t0 };
}

/** The same with explore in the guest. */
export async function exploreInVm(
  o: VmOptions & { explore: GuestExplore },
): Promise<VmExploreResult> {
  const t0 = performance.now();
  const { k, setup } = await oneGuest(o);
  const r = await exploreGuest(k, setup, o);
  return { ...r, elapsedMs: performance.now() - t0 };
}
