// `mremap-probe info`: the kernel facts and this process's own map count.
import type { Command } from 'commander';
import { kernelFacts, readOwnMaps, type KernelFacts } from '../kernel.js';
import { GATE_VMA_NAME } from '../maps.js';
import { addonPath } from '../native.js';
import { emit, toJson } from './common.js';

export interface InfoReport {
  kernel: KernelFacts;
  process: { pid: number; mapCount: number; mapsLines: number };
  /** The file the native addon was loaded from (a source build or a prebuild). */
  addon: string;
}

export function infoReport(): InfoReport {
  // One read of our own maps gives the count, the line total and the gate VMA.
  const maps = readOwnMaps();
  return {
    kernel: kernelFacts(maps),
    process: { pid: process.pid, mapCount: maps.mapCount, mapsLines: maps.lines },
    addon: addonPath() ?? '',
  };
}

export function formatInfo(r: InfoReport): string {
  const k = r.kernel;
  const rows: [string, string][] = [
    ['kernel release', k.release],
    ['version', k.version.join('.')],
    ['arch', k.arch],
    ['page size', String(k.pageSize)],
    ['user address space', `${k.vaBits} bits (TASK_SIZE 0x${k.taskSize.toString(16)})`],
    ['vm.max_map_count', String(k.maxMapCount)],
    ['gate VMA listed', k.gateVma ? `yes (${GATE_VMA_NAME}, not counted)` : 'no'],
    [
      'PROT_NONE pages',
      k.protNoneReadable
        ? 'readable through /proc/self/mem (FOLL_FORCE)'
        : 'unreadable: proc_mem.force_override forbids FOLL_FORCE; their contents are not compared',
    ],
    ['RLIMIT_AS', `${k.rlimitAs.cur} (max ${k.rlimitAs.max})`],
    ['RLIMIT_DATA', `${k.rlimitData.cur} (max ${k.rlimitData.max})`],
    ['RLIMIT_MEMLOCK', `${k.rlimitMemlock.cur} (max ${k.rlimitMemlock.max})`],
    ['may write the sysctl', k.sysctlWritable ? 'yes' : 'no'],
    ['vm.overcommit_memory', String(k.overcommitMemory ?? 'unknown')],
    ['vm.mmap_min_addr', String(k.mmapMinAddr ?? 'unknown')],
    [
      'this process',
      `pid ${r.process.pid}: ${r.process.mapCount} VMAs (${r.process.mapsLines} maps lines)`,
    ],
    ['native addon', r.addon],
  ];
  const w = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${a.padEnd(w)}  ${b}`).join('\n') + '\n';
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print the kernel facts the probe uses, and the map count of this process')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const r = infoReport();
      emit(opts.json ? toJson(r) : formatInfo(r));
    });
}
