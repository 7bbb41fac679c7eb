// --arch and Debian flavours on the command line: what is refused, at once
// and before anything is fetched or booted.
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';

describe('--arch and :FLAVOUR', () => {
  it('an unknown architecture is a usage error naming the ones there are', () => {
    for (const args of [
      ['vm', '--arch', 'riscv64', '--debian', '6.12'],
      ['matrix', '--arch', 'x86_64,riscv64', '--debian', '6.12'],
      ['kernels', 'fetch', '--arch', 'riscv64', '6.12'],
    ]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/unknown architecture "riscv64": use x86_64 or arm64/);
    }
  });

  it("the 16k flavour is arm64's: asked for x86_64 it says to add --arch arm64", () => {
    for (const args of [
      ['vm', '--debian', '6.12:16k'],
      ['matrix', '--arch', 'x86_64', '--debian', '6.12:16k'],
      ['kernels', 'fetch', '6.12:16k'],
    ]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(
        /x86_64 kernels have no "16k" flavour: use cloud .*add --arch arm64/,
      );
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('a flavour no architecture has names those there are', () => {
    const r = cli(['matrix', '--arch', 'arm64,x86_64', '--debian', '6.12,6.12:64k']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/arm64 kernels have no "64k" flavour: use cloud or 16k/);
  });

  it('KVM for a guest of another architecture could not run here (exit 4)', () => {
    const other = process.arch === 'arm64' ? 'x86_64' : 'arm64';
    const r = cli(['vm', '--arch', other, '--accel', 'kvm', '--debian', '6.12']);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`KVM cannot run an ${other} guest`));
  });
});
