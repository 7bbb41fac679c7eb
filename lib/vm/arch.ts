// The architectures a guest can have, and what differs between them: the
// names each tool uses, the QEMU that emulates it and the machine it boots, the
// serial ports, and the Debian kernel flavours. One table, so that nothing else
// in lib/vm/ tests for an architecture by name.
import { closeSync, openSync, readSync } from 'node:fs';
import { constants as zlib, gunzipSync } from 'node:zlib';
/** A guest architecture, as `--arch` names it. */
export type GuestArch = 'x86_64' | 'arm64';
export const GUEST_ARCHES: readonly GuestArch[] = ['x86_64', 'arm64'];

export interface ArchSpec {
  id: GuestArch;
  /** Node's name (process.arch), which prebuilds/ uses. */
  node: 'x64' | 'arm64';
  /** Debian's name, which apt uses. */
  debian: 'amd64' | 'arm64';
  /** The kernel's name (uname -m), which a run report's `kernel.arch` holds. */
  uname: 'x86_64' | 'aarch64';
  /** The ELF e_machine of its binaries. */
  elfMachine: number;
  /** Debian's multiarch triplet: where its shared libraries lie. */
  triplet: string;
  qemu: string;
  /** The Debian package that installs `qemu`. */
  qemuPackage: string;
  /** The machine and devices QEMU emulates, before -kernel. */
  machine: string[];
  /** The kernel's name of the console's serial port. */
  console: string;
  /**
   * The second port the guest writes its report to (under /dev), and the
   * QEMU devices that make it, connected to the chardev `report`.
   */
  reportPort: string;
  reportDevices: string[];
  /** Debian's kernel flavour for the guest by default, and the others by short name. */
  flavours: Record<string, string>;
}

export const ARCHES: Record<GuestArch, ArchSpec> = {
  x86_64: {
    id: 'x86_64',
    node: 'x64',
    debian: 'amd64',
    uname: 'x86_64',
    elfMachine: 62,
    triplet: 'x86_64-linux-gnu',
    qemu: 'qemu-system-x86_64',
    qemuPackage: 'qemu-system-x86',
    // No VGA: the console is the first serial port.
    machine: ['-vga', 'none'],
    console: 'ttyS0',
    reportPort: 'ttyS1',
    reportDevices: ['-device', 'isa-serial,chardev=report'],
    flavours: { cloud: 'cloud-amd64' },
  },
  arm64: {
    id: 'arm64',
    node: 'arm64',
    debian: 'arm64',
    uname: 'aarch64',
    elfMachine: 183,
    triplet: 'aarch64-linux-gnu',
    qemu: 'qemu-system-aarch64',
    qemuPackage: 'qemu-system-arm',
    // `-cpu max` has every granule (4, 16 and 64 KiB) and 52-bit addresses,
    // so one machine boots every Debian arm64 flavour.
    machine: ['-M', 'virt,gic-version=max'],
    console: 'ttyAMA0',
    // `virt` has one PL011. A virtio console is the second port: Debian's
    // arm64 kernels have VIRTIO_CONSOLE and VIRTIO_PCI built in, and hvc's
    // writes wait until QEMU has taken the bytes, so the report is out
    // before the guest's reboot.
    reportPort: 'hvc0',
    reportDevices: ['-device', 'virtio-serial-pci', '-device', 'virtconsole,chardev=report'],
    flavours: { cloud: 'cloud-arm64', '16k': 'arm64-16k' },
  },
};

/** An architecture by any of its names: x86_64 (x86-64, x64, amd64), arm64 (aarch64). */
export function archByName(value: string): GuestArch | undefined {
  const v = value.trim().toLowerCase();
  if (['x86_64', 'x86-64', 'x64', 'amd64'].includes(v)) return 'x86_64';
  if (['arm64', 'aarch64'].includes(v)) return 'arm64';
  return undefined;
}

/** The guest architecture of this machine, when it is one. */
export function hostArch(): GuestArch | undefined {
  return GUEST_ARCHES.find((a) => ARCHES[a].node === process.arch);
}

/** The architecture of a kernel image from its header, or undefined when it is none of these. */
export function imageArch(head: Buffer): GuestArch | undefined {
  // x86 boot protocol: "HdrS" at 0x202.
  if (head.length >= 0x206 && head.toString('latin1', 0x202, 0x206) === 'HdrS') return 'x86_64';
  // arm64 Image header: "ARM\x64" at 0x38 (Documentation/arch/arm64/booting.rst).
  if (head.length >= 0x3c && head.readUInt32LE(0x38) === 0x644d5241) return 'arm64';
  return undefined;
}

/** The page size an arm64 Image says it was built for (its header's flags, bits 1-2), in bytes. */
export function imagePageSize(head: Buffer): number | undefined {
  if (imageArch(head) !== 'arm64' || head.length < 0x20) return undefined;
  const code = Number((head.readBigUInt64LE(0x18) >> 1n) & 3n);
  return [undefined, 4096, 16384, 65536][code];
}

/** The first bytes of a kernel image, uncompressed when it is gzip's (an arm64 Image.gz). */
export function imageHead(path: string): Buffer {
  const b = Buffer.alloc(0x10000);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, b, 0, b.length, 0);
  } finally {
    closeSync(fd);
  }
  const head = b.subarray(0, n);
  if (head[0] !== 0x1f || head[1] !== 0x8b) return head;
  try {
    return gunzipSync(head, { finishFlush: zlib.Z_SYNC_FLUSH });
  } catch {
    return head;
  }
}
