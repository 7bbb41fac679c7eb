// The command line: one file per command, registered here.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ProcUnavailableError } from '../kernel.js';
import { LabHazardError } from '../lab.js';
import { ScenarioFileError } from '../explore/files.js';
import { AptError } from '../vm/apt.js';
import { RequirementError } from '../vm/initramfs.js';
import { KernelSpecError } from '../vm/kernels.js';
import { GuestError } from '../vm/qemu.js';
import { AddonUnavailableError, packageRoot } from '../native.js';
import { guardStandardStreams, OutputError } from '../output.js';
import { packageVersion } from '../probe.js';
import { CliError, EXIT } from './common.js';
import { registerInfo } from './info.js';
import { registerMaps } from './maps.js';
import { registerPressure } from './pressure.js';
import { registerRestore } from './restore.js';
import { registerRun } from './run.js';
import { registerExplain } from './explain.js';
import { registerExplore } from './explore.js';
import { registerRepro } from './repro.js';
import { registerVm } from './vm.js';
import { registerMatrix } from './matrix.js';
import { registerKernels } from './kernels.js';
import { registerCompare } from './compare.js';
import { bisectStatus, registerBisect } from './bisect.js';
import { BuildError, KernelTreeError } from '../vm/build.js';
import { registerReport } from './report.js';
import { sayLimitNotice } from './limits.js';

const DESCRIPTION = `Measures how the running Linux kernel's mremap() behaves when it fails near
vm.max_map_count, and whether it destroys mappings on the way.

mremap(old, old_len, new_len, MREMAP_MAYMOVE|MREMAP_FIXED, new) unmaps the
destination (and, when shrinking, the old tail) before some of its checks: on
kernels where a check fails after those unmaps, the caller gets an error and has
lost data. The probe pushes a forked child to an exact distance from the limit,
lays out a region, makes the call, reads back /proc/self/maps and every page,
and compares what happened with a model of the kernel's code path for its era.`;

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('mremap-probe')
    .description(DESCRIPTION)
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(`mremap-probe: ${s.replace(/^error: /, '')}`),
    })
    .addHelpText(
      'after',
      `
Exit status: 0 nothing failed, 1 something failed, 2 usage error, 4 everything
skipped or could not run here (not root, too few open files, another probe holds
the lowered limit). A reader that goes away (| head -1) ends the output quietly,
with the command's own status.
Output files (-o): a regular file or a new one is written whole or not at all;
a character device (/dev/null, a terminal) or a FIFO is written in place; a
symbolic link is followed and said; anything else is refused before any work.
Documentation: README.md in ${packageRoot}`,
    )
    // Every command says once when a probe left vm.max_map_count lowered.
    // restore puts it back and says so itself; so does a --lower-limit run,
    // which restores a stale limit first or refuses, in one line, while
    // another run holds it.
    .hook('preAction', (_program, command) => {
      if (command.name() === 'restore' || command.opts().lowerLimit !== undefined) return;
      sayLimitNotice();
    });
  registerRun(program);
  registerExplain(program);
  registerExplore(program);
  registerRepro(program);
  registerVm(program);
  registerMatrix(program);
  registerKernels(program);
  registerBisect(program);
  registerCompare(program);
  registerReport(program);
  registerInfo(program);
  registerMaps(program);
  registerPressure(program);
  registerRestore(program);
  return program;
}

/** The soft limit on open files, as `ulimit -n` shows it. */
function openFilesLimit(): string {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function fail(message: string, code: number): number {
  process.stderr.write(`mremap-probe: ${message}\n`);
  return code;
}

/** Runs the command line and returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  guardStandardStreams();
  // Read now: out of descriptors, /proc could not be read to say it.
  const nofile = openFilesLimit();
  const program = buildProgram();
  // `help nonsense`: commander would print the whole help and call it a success.
  const [first, second] = argv.slice(2);
  if (first === 'help' && second !== undefined && !second.startsWith('-')) {
    if (!program.commands.some((c) => c.name() === second || c.aliases().includes(second)))
      return fail(`unknown command '${second}' (see mremap-probe --help)`, EXIT.usage);
  }
  // `git bisect run` reads bisect-run's status: its errors have statuses of their own.
  if (argv.slice(2).find((a) => !a.startsWith('-')) === 'bisect-run') {
    try {
      await program.parseAsync(argv);
      return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
    } catch (err) {
      if (
        err instanceof CommanderError &&
        ['commander.helpDisplayed', 'commander.help'].includes(err.code)
      )
        return EXIT.ok;
      const status = bisectStatus(err);
      if (!(err instanceof CommanderError))
        process.stderr.write(`mremap-probe: ${(err as Error).message}\n`);
      if (process.env.MREMAP_PROBE_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
      return status;
    }
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
        return EXIT.ok;
      // Help shown because a command was missing (`kernels`) is a usage error.
      if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return EXIT.usage;
    }
    if (err instanceof CliError) return fail(err.message, err.exitCode);
    if (err instanceof OutputError) return fail(err.message, err.usage ? EXIT.usage : EXIT.fail);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EMFILE' || code === 'ENFILE') {
      return fail(
        `could not run here: too many open files${nofile === 'unknown' ? '' : ` (ulimit -n is ${nofile})`}; mremap-probe needs at least 64: raise it with \`ulimit -n 1024\``,
        EXIT.skip,
      );
    }
    if (err instanceof AddonUnavailableError) return fail(err.message, EXIT.fail);
    // What the environment refuses ends as "could not run here", never as a failure.
    if (
      err instanceof ProcUnavailableError ||
      err instanceof LabHazardError ||
      err instanceof RequirementError
    ) {
      return fail(`could not run here: ${err.message}`, EXIT.skip);
    }
    if (
      err instanceof KernelSpecError ||
      err instanceof KernelTreeError ||
      err instanceof ScenarioFileError
    )
      return fail(err.message, EXIT.usage);
    // A build that fails here says where its log is; nothing was cached.
    if (err instanceof BuildError) return fail(err.message, EXIT.skip);
    if (err instanceof AptError || err instanceof GuestError) return fail(err.message, EXIT.fail);
    const e = err as Error;
    if (process.env.MREMAP_PROBE_DEBUG) process.stderr.write(`${e.stack ?? e}\n`);
    return fail(
      `internal error: ${e.message} (set MREMAP_PROBE_DEBUG=1 for the stack; please report it)`,
      EXIT.fail,
    );
  }
}
