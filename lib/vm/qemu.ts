// Booting a kernel with the guest initramfs under QEMU, and bringing the
// report back: the only place that runs QEMU. KVM when it works for a guest of
// this machine's architecture (probed with a short boot, remembered for the
// machine's boot: on some machines nested guests hang), TCG otherwise and for
// any other architecture. The report comes on a second port (a serial port on
// x86-64, a virtio console on arm64's `virt`), base64 between a header and an
// end marker with its length and sha256, so kernel messages on the console
// cannot touch it. A kernel without that port (Debian's arm64 kernels before
// 6.12 build the virtio console as a module) writes the same frame on its
// console, with kernel messages turned down; it is taken from the console
// stream and checked the same way.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCHES, type GuestArch } from './arch.js';
import { cacheDir } from './cache.js';
import { RequirementError } from './initramfs.js';

/** Writes a small file whole: a temporary file beside it, renamed over it. */
function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export type Accel = 'kvm' | 'tcg';

/** The QEMU that emulates `arch`, or RequirementError saying how to install it. */
export function findQemu(arch: GuestArch): string {
  const { qemu, qemuPackage } = ARCHES[arch];
  const r = spawnSync(qemu, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new RequirementError(
      `${qemu} is needed: install it with \`apt-get install ${qemuPackage}\``,
    );
  return qemu;
}

export class GuestError extends Error {
  constructor(
    message: string,
    readonly consoleTail: string,
    /** The guest ran out of time (it hung), rather than stopping. */
    readonly hang = false,
  ) {
    super(`${message}\n--- the guest console's last lines ---\n${consoleTail}`);
    this.name = 'GuestError';
  }
}

export interface BootOptions {
  arch: GuestArch;
  kernel: string;
  initrd: string;
  /** Arguments for `mremap-probe` inside the guest. */
  args: string[];
  accel: Accel;
  memoryMb?: number;
  /** More kernel parameters, after the guest's own (the last of a parameter given twice wins). */
  kernelArgs?: string;
  timeoutMs: number;
  onConsole?: (line: string) => void;
}

export interface BootResult {
  status: number;
  report: Buffer;
  consoleTail: string;
  elapsedMs: number;
}

/**
 * Kernel parameters every guest boots with, beyond its console and the
 * probe's own: /proc/self/mem may read PROT_NONE pages (FOLL_FORCE), which
 * kernels built with CONFIG_PROC_MEM_FORCE_PTRACE (Debian's 7.x) forbid by
 * default; the lab reads every page it stamped. Kernels without the
 * parameter (before 6.12 and its stable backports) ignore it.
 */
export const GUEST_KERNEL_ARGS = 'proc_mem.force_override=always';

function shellQuote(a: string): string {
  return `'${a.replaceAll("'", "'\\''")}'`;
}

/**
 * Decodes the framed report from what the report port (or the console)
 * received. Lines between the markers that are not base64 (a kernel message
 * on the console) are left out; the length and sha256 say whether what is
 * left is the report.
 */
export function unframe(
  raw: string,
  where = 'the report port',
): { status: number; report: Buffer } {
  const text = raw.replaceAll('\r', '');
  const begin = /^MREMAP-PROBE-REPORT-BEGIN status=(\d+) bytes=(\d+) sha256=([0-9a-f]{64})$/m.exec(
    text,
  );
  if (!begin) throw new Error(`no report header on ${where}`);
  const after = text.slice(begin.index + begin[0].length);
  const end = after.indexOf('\nMREMAP-PROBE-REPORT-END');
  if (end < 0) throw new Error('the report ends before its end marker');
  const body = after
    .slice(0, end)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[A-Za-z0-9+/=]+$/.test(l));
  const report = Buffer.from(body.join(''), 'base64');
  if (report.length !== Number(begin[2])) {
    throw new Error(`the report has ${report.length} bytes, its header says ${begin[2]}`);
  }
  const sum = createHash('sha256').update(report).digest('hex');
  if (sum !== begin[3]) throw new Error('the report does not match its sha256');
  return { status: Number(begin[1]), report };
}

/** The markers of a framed report: once the end has arrived, the report can be checked. */
const REPORT_BEGIN = 'MREMAP-PROBE-REPORT-BEGIN';
const REPORT_END = 'MREMAP-PROBE-REPORT-END';
/** The most console output kept for a report framed on it. */
const MAX_CONSOLE = 256 << 20;

/**
 * Boots the guest and resolves with its report as soon as the report has
 * arrived whole and matches its sha256: QEMU is stopped then, whether or not
 * the guest has ended it (a kernel without ACPI halts instead of powering
 * off). The guest's /init ends with a reboot, which ends QEMU under
 * -no-reboot on any kernel, so a guest that reports nothing does not wait
 * for the timeout either.
 */
export function boot(o: BootOptions): Promise<BootResult> {
  const spec = ARCHES[o.arch];
  const qemu = findQemu(o.arch);
  const work = mkdtempSync(join(tmpdir(), 'mp-vm-'));
  const reportFile = join(work, 'report');
  writeFileSync(reportFile, '');
  const args = Buffer.from(o.args.map(shellQuote).join(' ')).toString('base64');
  const argv = [
    ...spec.machine,
    '-accel',
    o.accel,
    ...(o.accel === 'kvm' ? ['-cpu', 'host'] : ['-cpu', 'max']),
    '-m',
    String(o.memoryMb ?? 2048),
    '-smp',
    '1',
    '-nographic',
    '-no-reboot',
    '-display',
    'none',
    '-monitor',
    'none',
    // No network card (its option ROM costs seconds under TCG).
    '-nic',
    'none',
    '-kernel',
    o.kernel,
    '-initrd',
    o.initrd,
    '-append',
    `console=${spec.console} quiet loglevel=4 panic=-1 oops=panic ${GUEST_KERNEL_ARGS}${o.kernelArgs ? ` ${o.kernelArgs}` : ''} mp.port=${spec.reportPort} mp.args=${args}`,
    '-serial',
    'stdio',
    '-chardev',
    `file,id=report,path=${reportFile}`,
    ...spec.reportDevices,
  ];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(qemu, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let got: { status: number; report: Buffer } | undefined;
    let reportMs = 0;
    // The console's lines outside a frame (shown, and kept for errors), and all of it.
    const tail: string[] = [];
    let partial = '';
    let all = '';
    let inFrame = false;
    const keep = (s: string) => {
      if (all.length < MAX_CONSOLE) all += s;
      partial += s;
      const lines = partial.split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const raw of lines) {
        // Strip terminal control sequences the firmware prints.
        const l = raw.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, '');
        if (l.startsWith(REPORT_BEGIN)) {
          inFrame = true;
          o.onConsole?.('(the report, framed, on the console)');
        } else if (inFrame) inFrame = !l.startsWith(REPORT_END);
        else {
          tail.push(l);
          if (tail.length > 200) tail.shift();
          o.onConsole?.(l);
        }
      }
      if (!got && s.includes('\n') && all.includes(REPORT_END)) {
        try {
          got = unframe(all, 'the console');
        } catch {
          return; // not whole yet, or damaged: the exit handler says which
        }
        reportMs = performance.now() - t0;
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', (d: Buffer) => keep(d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => keep(d.toString('utf8')));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    // The report port is a file QEMU appends to: look at it while QEMU runs.
    let seen = 0;
    const watch = setInterval(() => {
      let size: number;
      try {
        size = statSync(reportFile).size;
      } catch {
        return;
      }
      if (size === seen || got) return;
      seen = size;
      const raw = readFileSync(reportFile, 'latin1');
      if (!raw.includes(REPORT_END)) return;
      try {
        got = unframe(raw);
      } catch {
        return; // not whole yet, or damaged: the exit handler says which
      }
      reportMs = performance.now() - t0;
      child.kill('SIGKILL');
    }, 100);
    const cleanTail = () =>
      [...tail, ...(inFrame ? [] : [partial])].slice(-25).join('\n').replaceAll('\r', '');
    const done = () => {
      clearTimeout(timer);
      clearInterval(watch);
    };
    child.on('error', (err) => {
      done();
      rmSync(work, { recursive: true, force: true });
      reject(err);
    });
    // 'close': after the console's last bytes, which may hold the report.
    child.on('close', () => {
      done();
      const elapsedMs = got ? reportMs : performance.now() - t0;
      const raw = existsSync(reportFile) ? readFileSync(reportFile, 'latin1') : '';
      rmSync(work, { recursive: true, force: true });
      const framed = () => {
        if (got) return got;
        // The report port, unless nothing came there and the console has a frame.
        if (!raw.includes(REPORT_BEGIN) && all.includes(REPORT_BEGIN))
          return unframe(all, 'the console');
        return unframe(raw);
      };
      try {
        const { status, report } = framed();
        resolve({ status, report, consoleTail: cleanTail(), elapsedMs });
      } catch (err) {
        const panic = /Kernel panic|end Kernel panic/.test(all.slice(-65536));
        const why = timedOut
          ? `the guest did not finish within ${Math.round(o.timeoutMs / 1000)} s`
          : panic
            ? 'the guest kernel panicked'
            : `the guest stopped without a report (${(err as Error).message})`;
        reject(new GuestError(why, cleanTail(), timedOut));
      }
    });
  });
}

/**
 * What identifies this boot of the machine: a KVM probe's answer holds until
 * the machine reboots (a kernel update or a changed /dev/kvm comes with one).
 */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return release();
  }
}

/**
 * Whether KVM is usable here: /dev/kvm is writable and a probe guest boots in
 * time. The answer, yes or no, is remembered for this boot of the machine, so
 * that a machine where nested guests hang pays for the probe once.
 */
export async function kvmWorks(
  arch: GuestArch,
  kernel: string,
  initrd: string,
  log: (s: string) => void = () => {},
): Promise<boolean> {
  if (ARCHES[arch].node !== process.arch) return false;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  const file = join(cacheDir(), 'kvm-probe.json');
  const key = bootId();
  let all: Record<string, boolean> = {};
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, boolean>;
  } catch {
    // no answer remembered yet
  }
  if (key in all) return all[key]!;
  log('probing KVM with a short boot');
  let ok = false;
  try {
    await boot({
      arch,
      kernel,
      initrd,
      args: ['--version'],
      accel: 'kvm',
      timeoutMs: 15_000,
      memoryMb: 1024,
    });
    ok = true;
  } catch (err) {
    log(
      err instanceof GuestError && err.hang
        ? 'KVM does not boot a guest here (it hangs): using TCG'
        : `the KVM probe failed (${(err as Error).message.split('\n')[0]}): using TCG`,
    );
  }
  // Only this boot's answer is kept: older ones say nothing any more.
  writeFileAtomic(file, `${JSON.stringify({ [key]: ok }, null, 2)}\n`);
  if (ok) log('KVM works');
  return ok;
}
