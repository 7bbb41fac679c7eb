// `mremap-probe bisect-run CASE --source DIR`: one step of `git bisect run`.
// Builds the tree's kernel, boots it with only that case, and exits 0 when
// the case behaves as on the good side, 1 as on the bad side, 125 when this
// commit could not be built or run, and 128 (which stops git bisect run) when
// nothing could be judged on any commit: a usage error, a missing tool.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { BISECT, bisectSide, OutcomeError, parseOutcome, type Outcome } from '../bisect.js';
import { buildKernel, BuildError, KernelTreeError } from '../vm/build.js';
import { GuestError } from '../vm/qemu.js';
import { runInVm } from '../vm/guest.js';
import { parseIntOption, requireScenario, UsageError } from './common.js';
import { addGuestOptions, guestOptions, log, type GuestOpts } from './guest-options.js';

export const BISECT_HELP = `
Outcomes (--good, --bad): terms separated by commas, all of which must hold:
  ok, ENOMEM, EFAULT, ...      the call's result
  destroyed, kept              an error return destroyed mappings, or not
                               (invariant cases: broken or kept)
  pass, fail:destroyed, ...    the verdict (judged by the era of the tree's version)
  era:ID                       the observation matches that era's model
  report:FILE                  the result and destroyed/kept the case had in a saved run report
With one side given, anything else is the other side. A case that behaves as neither
(or both), skips or breaks is a commit git bisect skips.

Exit status: 0 good, 1 bad, 125 this commit could not be built, booted or judged
(git bisect skips it), 128 a usage error or a missing tool (git bisect run stops).

Finding the commit that started destroying mappings (old: kept, new: destroyed):
  git bisect start BAD_COMMIT GOOD_COMMIT
  git bisect run npx mremap-probe bisect-run 'fixed/dst-mid/old-mid/shrink@M-4' --source . \\
      --good ENOMEM,kept --bad ENOMEM,destroyed
  git bisect reset
Finding the commit that fixed it (old: destroyed, new: kept), with terms that say so:
  git bisect start --term-old=broken --term-new=fixed
  git bisect broken v5.0 && git bisect fixed v5.1
  git bisect run npx mremap-probe bisect-run 'fixed/dst-mid/old-mid/shrink@M-4' --source . \\
      --good ENOMEM,destroyed --bad ENOMEM,kept
(--good is the old side and --bad the new one, whatever the terms are called.)`;

/**
 * The exit status of bisect-run for an error that ended it: what is this
 * commit's (its build failed, its kernel did not report, its tree is older
 * than kernels build supports) skips it; anything else (a usage error, a
 * missing tool, an internal error) would be the same on every commit, so it
 * stops git bisect run instead of marking commits bad.
 */
export function bisectStatus(err: unknown): number {
  if (err instanceof BuildError || err instanceof GuestError) return BISECT.skip;
  if (err instanceof KernelTreeError && err.tooOld) return BISECT.skip;
  return BISECT.abort;
}

export function registerBisect(program: Command): void {
  addGuestOptions(
    program
      .command('bisect-run')
      .description(
        "for `git bisect run`: build the tree's kernel, boot it with one case, exit 0 (good), 1 (bad) or 125 (skip)",
      )
      .argument('<case>', 'the case id, e.g. fixed/dst-mid/old-mid/shrink@M-4')
      .requiredOption('--source <dir>', 'the kernel tree git bisect checked out (usually .)')
      .option('--good <outcome>', 'what the case does on the good (old) side, e.g. ENOMEM,kept')
      .option('--bad <outcome>', 'what the case does on the bad (new) side, e.g. ENOMEM,destroyed')
      .option(
        '-j, --jobs <n>',
        `parallel make jobs (default: the number of CPUs, ${cpus().length})`,
      )
      .option('--config-fragment <file>', 'Kconfig lines applied after the guest configuration'),
    { filter: false, mirror: false },
  )
    .addHelpText('after', BISECT_HELP)
    .action(
      async (
        id: string,
        opts: GuestOpts & {
          source: string;
          good?: string;
          bad?: string;
          jobs?: string;
          configFragment?: string;
        },
      ) => {
        requireScenario(id);
        if (!opts.good && !opts.bad)
          throw new UsageError('give --good OUTCOME, --bad OUTCOME or both');
        let good: Outcome | undefined;
        let bad: Outcome | undefined;
        try {
          good = opts.good ? parseOutcome(opts.good, id) : undefined;
          bad = opts.bad ? parseOutcome(opts.bad, id) : undefined;
        } catch (err) {
          if (err instanceof OutcomeError) throw new UsageError(err.message);
          throw err;
        }
        const jobs = opts.jobs ? parseIntOption('--jobs', opts.jobs, 1, 256) : undefined;
        let fragment: string | undefined;
        if (opts.configFragment) {
          try {
            fragment = readFileSync(opts.configFragment, 'utf8');
          } catch (err) {
            throw new UsageError(`cannot read ${opts.configFragment}: ${(err as Error).message}`);
          }
        }
        const o = guestOptions({ ...opts, filter: [] });
        const k = await buildKernel({
          source: opts.source,
          ...(jobs ? { jobs } : {}),
          ...(fragment !== undefined ? { fragment } : {}),
          log,
        });
        // Only this case runs in the guest: a glob without wildcards matches its id.
        const r = await runInVm({ ...o, kernel: k.vmlinuz, filters: [id] });
        const c = r.report.cases.find((x) => x.id === id);
        if (!c) throw new GuestError(`the guest's report has no case ${id}`, r.consoleTail);
        const verdict = bisectSide(c, good, bad);
        const word =
          verdict.status === BISECT.good ? 'good' : verdict.status === BISECT.bad ? 'bad' : 'skip';
        process.stdout.write(
          `${word}: Linux ${r.report.kernel.release} (${k.built?.describe ?? ''}): ${id}: ${verdict.why}\n`,
        );
        process.exitCode = verdict.status;
      },
    );
}
