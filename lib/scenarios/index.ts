// The catalogue: every family, in the order `run` takes them.
import { dontunmapFamilies } from './dontunmap.js';
import { fixedFamilies } from './fixed.js';
import { inplaceFamilies } from './inplace.js';
import { invariantFamilies } from './invariant.js';
import { limitFamilies } from './limits.js';
import { lowaddrFamilies } from './lowaddr.js';
import { multiVmaFamilies } from './multivma.js';
import { overlapFamilies } from './overlap.js';
import type { Family, Scenario } from './types.js';

export * from './types.js';

export const FAMILIES: Family[] = [
  ...fixedFamilies,
  ...dontunmapFamilies,
  ...limitFamilies,
  ...lowaddrFamilies,
  ...overlapFamilies,
  ...multiVmaFamilies,
  ...inplaceFamilies,
  ...invariantFamilies,
];

export function catalogue(): Scenario[] {
  return FAMILIES.flatMap((f) => f.scenarios);
}

export function findScenario(id: string): Scenario | undefined {
  return catalogue().find((s) => s.id === id);
}

/**
 * Glob over case ids: `*` matches within one path segment, `**` across
 * segments, `?` one character; `{a,b}` alternatives.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '{') {
      const close = glob.indexOf('}', i);
      if (close < 0) throw new RangeError(`unclosed { in ${JSON.stringify(glob)}`);
      re += `(?:${glob
        .slice(i + 1, close)
        .split(',')
        .map((a) => a.replace(/[.+^$()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*'))
        .join('|')})`;
      i = close;
    } else re += ch.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function filterScenarios(all: Scenario[], globs: string[]): Scenario[] {
  if (!globs.length) return all;
  const res = globs.map(globToRegExp);
  return all.filter((s) => res.some((r) => r.test(s.id)));
}
