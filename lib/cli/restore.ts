// `mremap-probe restore`: put back a vm.max_map_count that a killed run lowered.
import type { Command } from 'commander';
import { restoreFromState, statePath, SysctlError } from '../sysctl.js';
import { emit, EXIT } from './common.js';
import { sysctlFailure } from './limits.js';

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
    .addHelpText(
      'after',
      `
The state file must be root's, not writable by others, not a symbolic link, in a
directory that is the same, and name /proc/sys/vm/max_map_count with the
original value, the lowered one, the pid and the time: anything else is refused.
Exit status: 0 restored or nothing to restore, 1 refused (the run still holds the
lock, or the value changed since), 2 a state file that is not trusted,
4 not root.`,
    )
    .action((opts: { force?: boolean }) => {
      try {
        const r = restoreFromState(opts.force ? { force: true } : {});
        emit(`${r.message}\n`);
      } catch (err) {
        if (err instanceof SysctlError)
          throw sysctlFailure(err, { held: EXIT.fail, fail: EXIT.fail });
        throw err;
      }
    });
}
