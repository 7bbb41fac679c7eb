// `mremap-probe restore`: put back a vm.max_map_count that a killed run lowered.
import type { Command } from 'commander';
import { restoreFromState, statePath, SysctlError } from '../sysctl.js';
import { CliError, emit } from './common.js';

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description(
      `restore vm.max_map_count from the state file a --lower-limit run leaves while it runs (${statePath()}), after that run was killed`,
    )
    .option(
      '--force',
      'restore even if the run that lowered it still runs, or the value changed since',
    )
    .action((opts: { force?: boolean }) => {
      try {
        const r = restoreFromState(opts.force ? { force: true } : {});
        emit(`${r.message}\n`);
      } catch (err) {
        if (err instanceof SysctlError) throw new CliError(err.message);
        throw err;
      }
    });
}
