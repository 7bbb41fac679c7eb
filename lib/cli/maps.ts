// `mremap-probe maps`: a process's maps, parsed, with a summary.
import type { Command } from 'commander';
import { hex, readMaps, summarize, isGateVma } from '../maps.js';
import { CliError, emit, parseIntOption, toJson } from './common.js';

export function registerMaps(program: Command): void {
  program
    .command('maps')
    .description('print the parsed /proc/PID/maps of a process (default: this one) with a summary')
    .option('--pid <pid>', 'the process to read')
    .option('--json', 'print JSON')
    .action((opts: { pid?: string; json?: boolean }) => {
      const pid = opts.pid === undefined ? undefined : parseIntOption('--pid', opts.pid, 1);
      let snap;
      try {
        snap = readMaps(pid);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ENOENT') throw new CliError(`no process ${pid}`);
        if (code === 'EACCES' || code === 'EPERM') {
          throw new CliError(`not allowed to read the maps of process ${pid}`);
        }
        throw err;
      }
      const summary = summarize(snap.entries);
      if (opts.json) {
        emit(
          toJson({
            pid: snap.pid,
            summary,
            vmas: snap.entries.map((e, i) => ({
              start: `0x${hex(e.start)}`,
              end: `0x${hex(e.end)}`,
              perms: e.perms,
              offset: `0x${e.offset.toString(16)}`,
              dev: `${e.devMajor.toString(16).padStart(2, '0')}:${e.devMinor.toString(16).padStart(2, '0')}`,
              inode: e.inode,
              path: e.path,
              deleted: e.deleted,
              gate: isGateVma(snap.entries, i),
            })),
          }),
        );
        return;
      }
      const lines = snap.entries.map((e, i) => {
        const size = (e.end - e.start) / 1024n;
        const tag = isGateVma(snap.entries, i) ? '  (gate VMA, not counted)' : '';
        return `${hex(e.start)}-${hex(e.end)} ${e.perms} ${String(size).padStart(9)}K ${JSON.stringify(e.path).slice(1, -1)}${e.deleted ? ' (deleted)' : ''}${tag}`;
      });
      lines.push(
        '',
        `pid ${snap.pid}: ${summary.mapCount} VMAs counted (map_count), ${summary.lines} lines` +
          `${summary.gateVma ? ' including the gate VMA' : ''}; ` +
          `${summary.anonymous} anonymous, ${summary.fileBacked} file-backed, ${summary.pseudo} special; ` +
          `${summary.shared} shared; ${summary.mappedBytes / 1024n} KiB mapped`,
      );
      emit(lines.join('\n') + '\n');
    });
}
