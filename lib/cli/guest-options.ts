// The options every command that boots a guest shares (vm, matrix, bisect-run).
import type { Command } from 'commander';

import { archByName, GUEST_ARCHES, type GuestArch } from '../vm/arch.js';
import { DEFAULT_GUEST_LIMIT, type GuestExplore, type VmOptions } from '../vm/guest.js';
import { GUEST_KERNEL_ARGS } from '../vm/qemu.js';
import { randomInt } from 'node:crypto';
import { parseIntOption, UsageError } from './common.js';
import { parseBudget } from './explore.js';
import { ERA_OPTION_HELP, parseEra } from './era.js';
import { selectScenarios } from './run.js';

/** Collects a repeatable option. */
export const collect = (v: string, prev: string[]) => [...prev, v];

/** A repeatable option whose values are also comma lists: `--kernel a,b --kernel c`. */
export function splitList(values: string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `--arch` values: x86_64 (x86-64, x64, amd64) and arm64 (aarch64). */
export function parseArch(value: string): GuestArch {
  const a = archByName(value);
  if (!a) {
    throw new UsageError(
      `unknown architecture ${JSON.stringify(value)}: use ${GUEST_ARCHES.join(' or ')} (also amd64, x64, aarch64)`,
    );
  }
  return a;
}

/** The --arch help of vm and matrix. */
export const ARCH_HELP = 'x86_64 (the default; also amd64, x64) or arm64 (also aarch64)';

export interface GuestOpts {
  filter?: string[];
  era?: string;
  accel: string;
  memory?: string;
  timeout?: string;
  guestLimit?: string;
  append?: string;
  mirror?: string;
  console?: boolean;
}

export function log(s: string): void {
  process.stderr.write(`mremap-probe: ${s}\n`);
}

export function addGuestOptions(
  c: Command,
  o: { filter?: boolean; mirror?: boolean } = {},
): Command {
  if (o.filter !== false)
    c.option('--filter <glob>', 'run only the matching cases (repeatable)', collect, []).option(
      '--era <id>',
      ERA_OPTION_HELP,
    );
  c.option('--accel <kind>', 'auto (KVM when it works, else TCG), kvm or tcg', 'auto')
    .option('--memory <mb>', 'guest memory in MiB (default 2048)')
    .option('--timeout <s>', 'give up on a guest after this many seconds (default 600)')
    .option(
      '--guest-limit <n>',
      `vm.max_map_count inside the guest, which is thrown away (default ${DEFAULT_GUEST_LIMIT})`,
    )
    .option(
      '--append <params>',
      `more kernel parameters for the guest, after its own (${GUEST_KERNEL_ARGS} and the console's)`,
    );
  if (o.mirror !== false)
    c.option(
      '--mirror <url>',
      "Debian mirror for --debian (default: the one in this machine's apt configuration)",
    );
  return c.option('--console', "show the guest's console on standard error");
}

/** --append: kernel parameters, printable ASCII separated by spaces, none of the probe's own (mp.*). */
export function parseAppend(text: string): string {
  const t = text.trim();
  if (!t || t.length > 1024 || !/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(t))
    throw new UsageError(
      `--append wants kernel parameters separated by single spaces, printable ASCII, up to 1024 characters (got ${JSON.stringify(text)})`,
    );
  if (t.split(' ').some((p) => p.startsWith('mp.')))
    throw new UsageError("--append: the mp.* parameters are the probe's own");
  return t;
}

export function guestOptions(o: GuestOpts): VmOptions {
  parseEra(o.era);
  if (!['auto', 'kvm', 'tcg'].includes(o.accel))
    throw new UsageError(`--accel is auto, kvm or tcg, not ${JSON.stringify(o.accel)}`);
  if (o.filter?.length) selectScenarios(o.filter);
  return {
    filters: o.filter ?? [],
    ...(o.era ? { era: o.era } : {}),
    accel: o.accel as VmOptions['accel'],
    ...(o.memory ? { memoryMb: parseIntOption('--memory', o.memory, 256, 65536) } : {}),
    ...(o.timeout ? { timeoutMs: parseIntOption('--timeout', o.timeout, 10) * 1000 } : {}),
    ...(o.guestLimit ? { guestLimit: parseIntOption('--guest-limit', o.guestLimit, 1024) } : {}),
    ...(o.append !== undefined ? { kernelArgs: parseAppend(o.append) } : {}),
    ...(o.mirror ? { mirror: o.mirror } : {}),
    log,
    ...(o.console ? { onConsole: (l: string) => process.stderr.write(`  guest| ${l}\n`) } : {}),
  };
}

/** --explore and --seed of vm and matrix. */
export function addExploreOptions(c: Command): Command {
  return c
    .option(
      '--explore <budget>',
      'explore in the guest for this long (60s, 5m, 1h) instead of running the catalogue',
    )
    .option('--seed <n>', "--explore's seed (default: a random one, printed)")
    .option('--save <dir>', "with --explore: write the findings' scenario files there");
}

export interface ExploreOpts {
  explore?: string;
  seed?: string;
  save?: string;
  filter?: string[];
}

/** What --explore asks for, or undefined; --seed and --save need it, --filter excludes it. */
export function exploreChoice(o: ExploreOpts): GuestExplore | undefined {
  if (o.explore === undefined) {
    if (o.seed !== undefined) throw new UsageError('--seed goes with --explore');
    if (o.save !== undefined) throw new UsageError('--save goes with --explore');
    return undefined;
  }
  if (o.filter?.length)
    throw new UsageError('--filter selects catalogue cases; --explore runs generated ones');
  return {
    budgetMs: parseBudget(o.explore),
    seed:
      o.seed !== undefined
        ? parseIntOption('--seed', o.seed, 0, 2 ** 31 - 1)
        : randomInt(2 ** 31 - 1),
  };
}
