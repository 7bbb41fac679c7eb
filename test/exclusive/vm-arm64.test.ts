// An arm64 guest under TCG: Debian's trixie cloud-arm64 kernel (6.12) booted
// by qemu-system-aarch64 on the virt machine, with the arm64 initramfs (Debian's
// arm64 nodejs and busybox-static, the arm64 prebuild). The filter keeps the
// cases whose outcomes set 5.16-6.14 apart from every other era: the EFAULT
// after (a) for an old range over two VMAs (before 6.17) and the same-size
// moves over several VMAs (6.17 on). Needs qemu-system-aarch64, apt-get and
// Debian's archive; the first run fetches about 60 MB and builds the prebuild.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../lib/report/report.js';
import { bin, isLinux } from '../helpers.js';

const qemu = spawnSync('qemu-system-aarch64', ['--version']).status === 0;
const apt = spawnSync('apt-get', ['--version']).status === 0;

describe.skipIf(!isLinux || !qemu || !apt)(
  'mremap-probe vm --arch arm64 --debian 6.12 (TCG)',
  () => {
    it('boots an arm64 kernel and tells its era by behaviour, no case broken', () => {
      const r = spawnSync(
        process.execPath,
        [
          bin,
          'vm',
          '--arch',
          'arm64',
          '--debian',
          '6.12',
          '--filter',
          'fixed/dst-whole/**',
          '--format',
          'json',
          '--timeout',
          '600',
        ],
        { encoding: 'utf8', timeout: 900_000, maxBuffer: 64 << 20 },
      );
      expect(r.stderr).toMatch(/booting Linux 6\.12\.\S+-cloud-arm64 under TCG/);
      const report = JSON.parse(r.stdout) as RunReport;
      expect(report.kernel.arch).toBe('aarch64');
      expect(report.kernel.release).toMatch(/^6\.12\.\S+-cloud-arm64$/);
      expect(report.kernel.pageSize).toBe(4096);
      // No gate VMA on arm64; the guest lowered its own limit.
      expect(report.kernel.gateVma).toBe(false);
      expect(report.limit.loweredFrom).not.toBeNull();
      expect(report.cases.length).toBe(11);
      expect(report.summary.counts.broken).toBe(0);
      expect(report.summary.counts['fail:model']).toBe(0);
      expect(report.era.byVersion).toBe('5.16-6.14');
      expect(report.era.byBehaviour).toBe('5.16-6.14');
      expect(report.era.tied).toEqual(['5.16-6.14']);
      // 5.16-6.14 destroys the destination before it finds the old range spans two VMAs.
      const lost = report.cases.filter((c) => c.verdict === 'fail:destroyed').map((c) => c.id);
      expect(lost).toContain('fixed/dst-whole/old-next/same@none');
      expect(r.status).toBe(1);
    }, 1_000_000);
  },
);
