// Booting a kernel with the guest initramfs under QEMU, and bringing the
// report back. KVM when it works (probed once with a short timeout and
// remembered: on some machines nested guests hang), TCG otherwise. The report
// comes on a second serial port, base64 between a header and an end marker
// with its length and sha256, so kernel messages on the console cannot touch it.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from './cache.js';
import { RequirementError } from './initramfs.js';

export type Accel = 'kvm' | 'tcg';

export function findQemu(): string {
  const r = spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new RequirementError(
      'qemu-system-x86_64 is needed: install it with `apt-get install qemu-system-x86`',
    );
  }
  return 'qemu-system-x86_64';
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
  kernel: string;
  initrd: string;
  /** Arguments for `mremap-probe` inside the guest. */
  args: string[];
  accel: Accel;
  memoryMb?: number;
  timeoutMs: number;
  onConsole?: (line: string) => void;
}

export interface BootResult {
  status: number;
  report: Buffer;
  consoleTail: string;
  elapsedMs: number;
}

function shellQuote(a: string): string {
  return `'${a.replaceAll("'", "'\\''")}'`;
}

/** Decodes the framed report from what the second serial port received. */
export function unframe(raw: string): { status: number; report: Buffer } {
  const text = raw.replaceAll('\r', '');
  const begin = /^MREMAP-PROBE-REPORT-BEGIN status=(\d+) bytes=(\d+) sha256=([0-9a-f]{64})$/m.exec(
    text,
  );
  if (!begin) throw new Error('no report header on the report port');
  const after = text.slice(begin.index + begin[0].length);
  const end = after.indexOf('\nMREMAP-PROBE-REPORT-END');
  if (end < 0) throw new Error('the report ends before its end marker');
  const report = Buffer.from(after.slice(0, end).replace(/\s+/g, ''), 'base64');
  if (report.length !== Number(begin[2])) {
    throw new Error(`the report has ${report.length} bytes, its header says ${begin[2]}`);
  }
  const sum = createHash('sha256').update(report).digest('hex');
  if (sum !== begin[3]) throw new Error('the report does not match its sha256');
  return { status: Number(begin[1]), report };
}

export function boot(o: BootOptions): Promise<BootResult> {
  const qemu = findQemu();
  const work = mkdtempSync(join(tmpdir(), 'mp-vm-'));
  const reportFile = join(work, 'report');
  writeFileSync(reportFile, '');
  const args = Buffer.from(o.args.map(shellQuote).join(' ')).toString('base64');
  const argv = [
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
    '-kernel',
    o.kernel,
    '-initrd',
    o.initrd,
    '-append',
    `console=ttyS0 quiet loglevel=4 panic=-1 oops=panic mp.args=${args}`,
    '-serial',
    'stdio',
    '-chardev',
    `file,id=report,path=${reportFile}`,
    '-device',
    'isa-serial,chardev=report',
  ];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(qemu, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    let partial = '';
    const keep = (s: string) => {
      tail = (tail + s).slice(-8192);
      partial += s;
      const lines = partial.split(/\r?\n/);
      partial = lines.pop() ?? '';
      // Strip terminal control sequences the firmware prints.
      for (const l of lines) o.onConsole?.(l.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, ''));
    };
    child.stdout.on('data', (d: Buffer) => keep(d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => keep(d.toString('utf8')));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    const cleanTail = () =>
      tail
        .replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, '')
        .replaceAll('\r', '')
        .split('\n')
        .slice(-25)
        .join('\n');
    child.on('error', (err) => {
      clearTimeout(timer);
      rmSync(work, { recursive: true, force: true });
      reject(err);
    });
    child.on('exit', () => {
      clearTimeout(timer);
      const elapsedMs = performance.now() - t0;
      const raw = existsSync(reportFile) ? readFileSync(reportFile, 'latin1') : '';
      rmSync(work, { recursive: true, force: true });
      try {
        const { status, report } = unframe(raw);
        resolve({ status, report, consoleTail: cleanTail(), elapsedMs });
      } catch (err) {
        const panic = /Kernel panic|end Kernel panic/.test(tail);
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

/** Whether KVM is usable here: /dev/kvm is writable and a probe guest boots in time. */
export async function kvmWorks(
  kernel: string,
  initrd: string,
  log: (s: string) => void = () => {},
): Promise<boolean> {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  const file = join(cacheDir(), 'kvm-probe.json');
  const key = `${release()}`;
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as Record<string, boolean>;
    if (key in cached) return cached[key]!;
  } catch {
    // no cache yet
  }
  log('probing KVM with a short boot');
  let ok = false;
  try {
    await boot({
      kernel,
      initrd,
      args: ['--version'],
      accel: 'kvm',
      timeoutMs: 15_000,
      memoryMb: 1024,
    });
    ok = true;
  } catch (err) {
    // Only a hang says something about KVM here (nested guests hang); any
    // other failure may be the kernel's: fall back to TCG, remember nothing.
    if (!(err instanceof GuestError && err.hang)) {
      log('the KVM probe failed: using TCG this time');
      return false;
    }
  }
  let all: Record<string, boolean> = {};
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, boolean>;
  } catch {
    // first entry
  }
  all[key] = ok;
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
  log(ok ? 'KVM works' : 'KVM does not boot a guest here: using TCG');
  return ok;
}
