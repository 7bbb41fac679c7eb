// --era and --kernel, one meaning each in every command:
// - --kernel names a kernel: an image to boot (vm, matrix), or for explain a
//   version or release (5.10, 6.1.0-18-amd64) or an image whose version is
//   read from its header. The era whose model applies follows that kernel's
//   version (for run: this machine's kernel).
// - --era ID judges (run, vm, matrix) or explains (explain) by that era's
//   model instead of the one the kernel's version falls in.
import { statSync } from 'node:fs';
import { parseKernelVersion, type KernelVersion } from '../kernel.js';
import { ERA_RANGES, ERAS, eraOfVersion, isEra, type EraId } from '../model/types.js';
import { imageHead } from '../vm/arch.js';
import { UsageError } from './common.js';

/** The --era text of every command's help. */
export const ERA_OPTION_HELP = `judge by this era's model instead of the one the kernel's version falls in: ${ERAS.join(', ')}`;

export function parseEra(value: string | undefined): EraId | undefined {
  if (value === undefined) return undefined;
  if (!isEra(value))
    throw new UsageError(`unknown era ${JSON.stringify(value)}: use one of ${ERAS.join(', ')}`);
  return value;
}

const key = (v: readonly number[]) => v[0]! * 1000 + v[1]!;
const FIRST = ERA_RANGES[ERAS[0]][0];
const LAST = ERA_RANGES[ERAS[ERAS.length - 1]!][1];

/** The releases the era models cover, in words. */
export function modelsCover(): string {
  return `Linux ${FIRST.join('.')} to ${LAST.join('.')}`;
}

function eraRange(era: EraId): string {
  const [from, to] = ERA_RANGES[era];
  return `${from.join('.')} to ${to.join('.')}`;
}

/**
 * The release written in a kernel image (x86 bzImage: the setup header's
 * kernel_version string), or undefined when the file is not one.
 */
export function imageRelease(path: string): string | undefined {
  const buf = imageHead(path);
  const n = buf.length;
  if (n < 0x210 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const start = buf.readUInt16LE(0x20e) + 0x200;
  const end = buf.indexOf(0, start);
  if (start >= n || end < 0) return undefined;
  return buf.toString('latin1', start, end).split(' ')[0];
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * --kernel for a command that boots nothing: a version, a release or an image
 * file; refused when the models do not cover it.
 */
export function parseKernelOption(value: string): { version: KernelVersion; release: string } {
  let release = value;
  if (isFile(value)) {
    const r = imageRelease(value);
    if (!r) throw new UsageError(`--kernel ${value}: not a kernel image whose version can be read`);
    release = r;
  }
  let version: KernelVersion;
  try {
    version = parseKernelVersion(release);
  } catch {
    throw new UsageError(
      `--kernel wants a version (5.10), a release (6.1.0-18-amd64) or a kernel image, not ${JSON.stringify(value)}`,
    );
  }
  if (key(version) < key(FIRST) || key(version) > key(LAST)) {
    throw new UsageError(
      `--kernel ${release}: the era models cover ${modelsCover()}, not ${version[0]}.${version[1]}`,
    );
  }
  return { version, release };
}

/**
 * The era and the kernel version a model works with: the era follows the
 * kernel unless --era is given; when both are, the kernel must lie in the era.
 */
export function eraForKernel(
  era: EraId | undefined,
  kernel: { version: KernelVersion; release: string },
  kernelGiven: boolean,
): EraId {
  const own = eraOfVersion(kernel.version);
  if (era === undefined) return own;
  if (kernelGiven && own !== era) {
    throw new UsageError(
      `--kernel ${kernel.release} is in the ${own} era, outside --era ${era} (${eraRange(era)}): give one of them, or a kernel in that range`,
    );
  }
  return era;
}

/** --kernel for vm and matrix: an image file to boot. */
export function checkKernelImage(path: string): void {
  if (isFile(path)) return;
  const hint = /^\d+(\.\d+)*$/.test(path)
    ? `; for Debian's ${path} kernel use --debian ${path}`
    : '';
  throw new UsageError(`--kernel ${path}: no kernel image there${hint}`);
}
