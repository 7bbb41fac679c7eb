// Where fetched kernels, built initramfs images and apt's private state live.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(...sub: string[]): string {
  const base =
    process.env.MREMAP_PROBE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mremap-probe');
  const dir = join(base, ...sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}
