import { describe, expect, it } from 'vitest';
import { compareVersions, parseKernelVersion } from '../../lib/kernel.js';

describe('kernel version parsing', () => {
  it.each([
    ['6.18.44-fc-v657', [6, 18, 44]],
    ['5.10.0-30-cloud-amd64', [5, 10, 0]],
    ['7.0-rc3', [7, 0, 0]],
    ['4.19.325', [4, 19, 325]],
    ['6.12.57+deb13-cloud-amd64', [6, 12, 57]],
  ])('%s -> %j', (release, version) => {
    expect(parseKernelVersion(release)).toEqual(version);
  });

  it('refuses what is not a release', () => {
    expect(() => parseKernelVersion('linux')).toThrow(RangeError);
  });

  it('orders versions numerically, not as text', () => {
    expect(compareVersions([6, 9, 0], [6, 10, 0])).toBeLessThan(0);
    expect(compareVersions([5, 16, 0], [5, 15, 200])).toBeGreaterThan(0);
    expect(compareVersions([7, 1, 0], [7, 1])).toBe(0);
  });
});
