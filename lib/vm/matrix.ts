// The matrix's guests: every kernel resolved first (Debian kernels fetched one
// after another: they share apt's private state), the guest user space of each
// architecture built once, then booted up to `jobs` at a time. A kernel that
// fails is a column with its error, not the end.
import type { MatrixKernel } from '../report/matrix.js';
import type { GuestArch } from './arch.js';
import { KernelSpecError } from './kernels.js';
import { RequirementError } from './initramfs.js';
import { AptError } from './apt.js';
import { guestKernel, prepareGuests, runGuest, type GuestKernel, type VmOptions } from './guest.js';

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

export async function runMatrix(
  specs: MatrixSpec[],
  o: VmOptions & { jobs: number },
): Promise<MatrixKernel[]> {
  const log = o.log ?? (() => {});
  const n = specs.length;
  const resolved: (GuestKernel | { spec: string; arch?: GuestArch; error: string })[] = [];
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
  const setups = new Map<GuestArch, Awaited<ReturnType<typeof prepareGuests>> | string>();
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
  return pool(resolved, o.jobs, async (k, i) => {
    const tag = `[${i + 1}/${n}]`;
    const setup = 'file' in k ? setups.get(k.arch) : undefined;
    if (!('file' in k) || typeof setup !== 'object')
      return {
        spec: k.spec,
        ...(k.arch ? { arch: k.arch } : {}),
        origin: 'error' in k ? `${k.spec} (not fetched)` : k.origin,
        originShort: 'error' in k ? 'not fetched' : k.originShort,
        release: null,
        elapsedMs: 0,
        report: null,
        error: 'error' in k ? k.error : typeof setup === 'string' ? setup : 'not booted',
      };
    const t0 = performance.now();
    try {
      const r = await runGuest(k, setup, {
        ...o,
        log: (s) => log(`${tag} ${s}`),
        ...(o.onConsole ? { onConsole: (l: string) => o.onConsole!(`${tag} ${l}`) } : {}),
      });
      log(
        `${tag} Linux ${r.report.kernel.release}: era by behaviour ${r.report.era.byBehaviour}, ${(r.elapsedMs / 1000).toFixed(1)} s`,
      );
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
    } catch (err) {
      if (err instanceof RequirementError) throw err;
      const msg = (err as Error).message;
      log(`${tag} ${k.spec}: ${msg.split('\n')[0]}`);
      return {
        spec: k.spec,
        arch: k.arch,
        origin: k.origin,
        originShort: k.originShort,
        release: null,
        elapsedMs: Math.round(performance.now() - t0),
        report: null,
        error: msg,
      };
    }
  });
}
