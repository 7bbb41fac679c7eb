// The command line: one file per command, registered here.
import { Command, CommanderError } from 'commander';
import { ProcUnavailableError } from '../kernel.js';
import { LabHazardError } from '../lab.js';
import { AptError } from '../vm/apt.js';
import { RequirementError } from '../vm/initramfs.js';
import { KernelSpecError } from '../vm/kernels.js';
import { GuestError } from '../vm/qemu.js';
import { AddonUnavailableError, packageRoot } from '../native.js';
import { packageVersion } from '../probe.js';
import { CliError, EXIT } from './common.js';
import { registerInfo } from './info.js';
import { registerMaps } from './maps.js';
import { registerPressure } from './pressure.js';
import { registerRestore } from './restore.js';
import { registerRun } from './run.js';
import { registerExplain } from './explain.js';
import { registerRepro } from './repro.js';
import { registerVm } from './vm.js';
import { registerMatrix } from './matrix.js';
import { registerKernels } from './kernels.js';
import { registerCompare } from './compare.js';
import { bisectStatus, registerBisect } from './bisect.js';
import { BuildError, KernelTreeError } from '../vm/build.js';
import { registerReport } from './report.js';

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
Exit status: 0 nothing failed, 1 something failed, 2 usage error, 4 everything skipped.
Documentation: README.md in ${packageRoot}`,
    );
  registerRun(program);
  registerExplain(program);
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

function fail(message: string, code: number): number {
  process.stderr.write(`mremap-probe: ${message}\n`);
  return code;
}

/** Runs the command line and returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        return EXIT.ok;
      }
      return EXIT.usage;
    }
    if (err instanceof CliError) return fail(err.message, err.exitCode);
    if (err instanceof AddonUnavailableError) return fail(err.message, EXIT.fail);
    // What the environment refuses ends as "could not run here", never as a failure.
    if (
      err instanceof ProcUnavailableError ||
      err instanceof LabHazardError ||
      err instanceof RequirementError
    ) {
      return fail(`could not run here: ${err.message}`, EXIT.skip);
    }
    if (err instanceof KernelSpecError || err instanceof KernelTreeError)
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
