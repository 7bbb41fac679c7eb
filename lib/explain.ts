// `explain`: the model's step trace for one case in one era, with what the
// call would destroy. Works without the lab, so on any machine.
import { flagText } from './bits.js';
import { beyondCommitPages } from './facts.js';
import { destroyedBetween, modelSnapshot, type Destroyed } from './judge/evidence.js';
import { meminfo, type KernelVersion } from './kernel.js';
import { ERA_MERGES } from './model/eras/index.js';
import { layoutState, predict, type CaseStart } from './model/predict.js';
import {
  ERA_RANGES,
  featureVersion,
  type EraId,
  type ModelEnv,
  type Prediction,
} from './model/types.js';
import { permsOf } from './model/vmas.js';
import { place, type Placement } from './placement.js';
import { pressureText, type Scenario } from './scenarios/types.js';

export interface ExplainOptions {
  /** The vm.max_map_count to assume (default 65530, the kernel's default). */
  maxMapCount?: number;
  /** The kernel whose features to clamp into the era (default: the era's last release). */
  version?: KernelVersion;
  /** Page size in bytes (default 4096). */
  pageSize?: number;
  /** TASK_SIZE in pages (default: x86-64's, 2^47 bytes less a page). */
  taskSizePages?: number;
}

/**
 * A window where user space usually has free room (page 0x7f000000, or half
 * way up a smaller address space); the numbers only label pages.
 */
const WINDOW = 0x7f000000;
const NOMINAL = { totalVm: 100_000, dataVm: 20_000, lockedVm: 0 };

export interface Explanation {
  text: string;
  prediction: Prediction;
  placement: Placement;
  start: CaseStart;
  /** What the predicted call destroys when it fails (empty on success). */
  destroyed: Destroyed[];
}

export function explainCase(s: Scenario, era: EraId, o: ExplainOptions = {}): Explanation {
  const M = o.maxMapCount ?? 65530;
  const P = o.pageSize ?? 4096;
  const to = ERA_RANGES[era][1];
  const version = featureVersion(era, o.version ?? [to[0], to[1], 0]);
  // This machine's RAM + swap where /proc says, else a 16 GiB machine.
  const mi = meminfo();
  const totalPages = Math.floor(
    (((mi.get('MemTotal') ?? 16 << 20) + (mi.get('SwapTotal') ?? 0)) * 1024) / P,
  );
  const taskSize = o.taskSizePages ?? 2 ** 47 / P - 1;
  const window = Math.min(WINDOW, Math.floor(taskSize / 2));
  const pc = place(s, { pageSize: P, beyondCommit: beyondCommitPages(totalPages, P) }, window);
  const locked = s.layout.filter((p) => p.mlock).reduce((n, p) => n + p.pages, 0);
  const mapCount = s.pressure === null ? 1000 : M + s.pressure;
  const start: CaseStart = {
    mapCount,
    totalVm: NOMINAL.totalVm,
    dataVm: NOMINAL.dataVm,
    lockedVm: NOMINAL.lockedVm + locked,
  };
  const drops = new Set(s.requires?.dropCaps ?? []);
  const env: ModelEnv = {
    maxMapCount: M,
    version,
    pageSize: P,
    rlimitAs: s.limits?.as ? start.totalVm + s.limits.as.headroom : Infinity,
    rlimitData: Infinity,
    rlimitMemlock: s.limits?.memlock ? start.lockedVm + s.limits.memlock.headroom : 2048,
    capIpcLock: !drops.has('CAP_IPC_LOCK'),
    capSysRawio: !drops.has('CAP_SYS_RAWIO'),
    mmapMinAddr: 65536,
    overcommit: { mode: 0, totalPages, commitLimit: totalPages, committed: totalPages / 4 },
    taskSize,
    window,
    picked: pc.picked,
  };
  const prediction = predict(pc, start, era, env);
  const before = layoutState(pc, start, ERA_MERGES[era](version));
  const call = pc.call;
  const rel = (p: number) => (p >= window ? `+${p - window}` : `${p}`);
  const flagNames = flagText(s.call.flags);
  const lines: string[] = [];
  lines.push(`${s.id} under the ${era} model (features of Linux ${version.join('.')})`);
  lines.push(s.summary);
  lines.push('');
  lines.push(`layout (pages from the window start W):`);
  for (const v of before.vmas) {
    lines.push(
      `  ${v.label.padEnd(9)} [${rel(v.start)}, ${rel(v.end)}) ${permsOf(v)} ${v.backing.kind}${v.locked ? ' mlocked' : ''}`,
    );
  }
  lines.push(
    `call: mremap(W${rel(call.old)}, ${call.oldLen} -> ${call.newLen} pages, ${flagNames}${s.call.newAddr !== undefined ? `, new_addr ${s.call.newAddr === 'zero' ? '0' : `W${rel(call.newAddr)}`}` : ''})`,
  );
  lines.push(
    `at map_count ${mapCount}` +
      (s.pressure === null ? ' (no pressure)' : ` (${pressureText(s.pressure)}, M = ${M})`) +
      (s.limits?.as ? `, RLIMIT_AS = total_vm + ${s.limits.as.headroom} pages` : '') +
      (s.limits?.memlock
        ? `, RLIMIT_MEMLOCK = locked_vm + ${s.limits.memlock.headroom} pages`
        : '') +
      (drops.size ? `, without ${[...drops].join(', ')}` : ''),
  );
  lines.push('');
  prediction.trace.forEach((t, i) => {
    lines.push(`${String(i + 1).padStart(2)}. ${t.fn}`);
    lines.push(
      `      ${t.what}${t.errno ? `  -> ${t.errno}` : ''}${t.changed ? '  [mappings changed]' : ''}`,
    );
  });
  lines.push('');
  const r = prediction.ret;
  const ranges = pc.views;
  let lost: Destroyed[] = [];
  if (r.ok) {
    lines.push(
      `result: success, returns ${'raw' in r ? r.raw : `W${rel(r.page)}`}; map_count ${mapCount} -> ${prediction.state.mapCount}`,
    );
  } else {
    const pages: number[] = [];
    for (const v of before.vmas) for (let p = v.start; p < v.end; p++) pages.push(p);
    lost = destroyedBetween(
      modelSnapshot(before, ranges, pages),
      modelSnapshot(prediction.state, ranges, pages),
      (p) => before.lookup(p)?.label ?? 'free',
    );
    const changed = prediction.trace.some((t) => t.changed);
    lines.push(
      `result: ${r.errno}` +
        (lost.length
          ? ` after mappings were destroyed: ${lost.map((d) => `[${rel(d.start)}, ${rel(d.end)}) of ${d.pieces.join('+')} ${d.what}`).join(', ')}`
          : changed
            ? ' after mappings were changed, with nothing lost'
            : ', nothing touched'),
    );
  }
  lines.push('');
  lines.push('after:');
  for (const v of prediction.state.vmas.filter((v) =>
    ranges.some(([a, b]) => v.end > a && v.start < b),
  )) {
    lines.push(`  [${rel(v.start)}, ${rel(v.end)}) ${permsOf(v)} (${v.label})`);
  }
  return { text: `${lines.join('\n')}\n`, prediction, placement: pc, start, destroyed: lost };
}
