#!/usr/bin/env node
// npm run bench [-- --json] [-- --no-matrix]: the probe's speed and memory against the kernel's
// own floor, measured side by side in one run on this machine. Every figure is
// printed with the ratio it stands for; compare ratios, not absolute times.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const json = process.argv.includes('--json');
// The long explore whose memory is followed: 60 s by default, --explore-duration 600 for the 10 minutes of the target.
const durationArg = process.argv.indexOf('--explore-duration');
const exploreSeconds = durationArg > 0 ? Number(process.argv[durationArg + 1]) : 60;
if (!(exploreSeconds >= 1)) throw new Error('--explore-duration wants a number of seconds');
const dist = (p) => import(join(root, 'dist', p));
const { native } = await dist('native.js');
const { PressureLab } = await dist('pressure.js');
const { readMaps } = await dist('maps.js');
const { readMaxMapCount } = await dist('kernel.js');

const log = (s) => process.stderr.write(`bench: ${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bin = join(root, 'bin', 'mremap-probe.js');
const tmp = mkdtempSync(join(tmpdir(), 'mp-bench-'));
const M = readMaxMapCount();
const N = M - 200;
const ROUNDS = 3;

// --- fill rate: the lab against a C program making the same syscalls ---
const exe = join(tmp, 'bench-fill');
const cc = spawnSync('cc', ['-O2', '-o', exe, join(root, 'scripts', 'bench-fill.c')], {
  encoding: 'utf8',
});
if (cc.status !== 0) throw new Error(`cannot build scripts/bench-fill.c: ${cc.stderr}`);
const cMs = [];
const labMs = [];
for (let r = 0; r < ROUNDS; r++) {
  log(`fill round ${r + 1}/${ROUNDS}: ${N} VMAs`);
  const out = spawnSync(exe, [String(N)], { encoding: 'utf8' });
  const [ns, made] = out.stdout.trim().split(' ').map(Number);
  if (made !== N) throw new Error(`the C fill made ${made} of ${N}`);
  cMs.push(ns / 1e6);
  const pl = PressureLab.open(M);
  const t0 = performance.now();
  const f = pl.lab.fill(N);
  labMs.push(performance.now() - t0);
  if (f.fillers !== N) throw new Error(`the lab made ${f.fillers} of ${N}`);
  pl.close();
}
const fill = {
  vmas: N,
  cMs: median(cMs),
  labMs: median(labMs),
  cVmasPerSecond: Math.round(N / (median(cMs) / 1000)),
  labVmasPerSecond: Math.round(N / (median(labMs) / 1000)),
};
const fillRatioVsC = fill.labMs / fill.cMs;

// --- region evidence at ~65,000 VMAs: PROCMAP_QUERY against reading the whole maps ---
log('region queries against the whole maps');
const pl = PressureLab.open(M);
pl.lab.fill(N);
const region = [pl.arena.regionBase, pl.arena.regionBase + 64n * BigInt(pl.lab.pageSize)];
const time = (fn, n = 20) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - t0) / n;
};
const ioctl = pl.lab.query(region[0], region[1]);
const queryMs = ioctl.method === 'ioctl' ? time(() => pl.lab.query(region[0], region[1])) : null;
const textMs = time(() => pl.lab.query(region[0], region[1], { text: true }));
const countMs = time(() => pl.lab.countMaps(), 10);
const lines = readMaps(pl.lab.pid).lines;
const parseMs = time(() => readMaps(pl.lab.pid), 5);
pl.close();
const evidence = {
  mapsLines: lines,
  procmapQuery: ioctl.method === 'ioctl',
  procmapQueryMs: queryMs,
  wholeMapsInChildMs: textMs,
  countInChildMs: countMs,
  wholeMapsParsedInNodeMs: parseMs,
};

// --- a command in a fresh process: wall time, CPU in the kernel, memory of the whole tree ---
function treePids(pid) {
  const out = [pid];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      for (const k of kids ? kids.split(' ') : []) out.push(...treePids(Number(k)));
    }
  } catch {
    // gone
  }
  return out;
}
// VmRSS from /proc/PID/status reads the mm's counters: cheap enough to
// sample often without slowing a process that holds 65,000 VMAs (smaps
// would walk them all under the mmap lock).
function rss(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
/** PSS (shared pages split among the processes that map them) from smaps_rollup, kB. */
function pss(pid) {
  try {
    return Number(
      /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0,
    );
  } catch {
    return 0;
  }
}
/**
 * Runs the CLI in a fresh process; with sample (an interval in ms, or true
 * for 2 ms), also follows the RSS of its whole process tree, and with an
 * interval, its PSS once a second (smaps_rollup walks every VMA, so not more
 * often).
 */
function measure(args, sample = false) {
  return new Promise((resolve) => {
    const before = native().rusage(true);
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    let peakRss = 0;
    let peakPss = 0;
    let lastPss = 0;
    const samples = [];
    const timer = sample
      ? setInterval(
          () => {
            const kb = treePids(child.pid).reduce((n, p) => n + rss(p), 0);
            peakRss = Math.max(peakRss, kb);
            const now = performance.now();
            samples.push([now - t0, kb]);
            if (sample !== true && now - lastPss >= 1000) {
              lastPss = now;
              peakPss = Math.max(
                peakPss,
                treePids(child.pid).reduce((n, p) => n + pss(p), 0),
              );
            }
          },
          sample === true ? 2 : sample,
        )
      : undefined;
    child.on('exit', (code) => {
      if (timer) clearInterval(timer);
      const wall = performance.now() - t0;
      const after = native().rusage(true);
      resolve({
        code,
        stdout,
        wallMs: wall,
        systemMs: (after.systemUs - before.systemUs) / 1000,
        userMs: (after.userUs - before.userUs) / 1000,
        maxRssSingleMb: after.maxRssKb / 1024,
        peakRssMb: peakRss / 1024,
        peakPssMb: peakPss / 1024,
        samples,
      });
    });
  });
}

log('time to reach M-1 from a fresh process');
const reach = [];
for (let r = 0; r < ROUNDS; r++)
  reach.push(await measure(['pressure', '--target', 'M-1', '--json']));
const reachWallMs = median(reach.map((x) => x.wallMs));

log('the default run');
const runs = [];
for (let r = 0; r < ROUNDS; r++)
  runs.push(await measure(['run', '--format', 'json', '--no-progress']));
const byWall = [...runs].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(runs.length / 2)];
log('the default run, following its memory');
const sampled = await measure(['run', '--format', 'json', '--no-progress'], true);
const report = JSON.parse(byWall.stdout);
const run = {
  cases: report.cases.length,
  runWallMs: byWall.wallMs,
  systemMs: byWall.systemMs,
  userMs: byWall.userMs,
  kernelShare: byWall.systemMs / byWall.wallMs,
  // The whole tree (Node and the lab child) summed at each sample: shared
  // pages count twice, so this is an upper bound.
  peakRssMb: Math.max(sampled.peakRssMb, ...runs.map((x) => x.maxRssSingleMb)),
  maxRssSingleProcessMb: Math.max(...runs.map((x) => x.maxRssSingleMb)),
};

// --- explore: generated cases per second, and the memory of a long explore ---
log('explore: 20,000 generated cases (seed 1), shrinking left out');
const exploreRun = await measure([
  'explore',
  '--seed',
  '1',
  '--cases',
  '20000',
  '--shrink-runs',
  '1',
  '--format',
  'json',
  '--no-progress',
]);
const exploreReport = JSON.parse(exploreRun.stdout);
log(`explore for ${exploreSeconds} s (seed 2), following its memory`);
const longRun = await measure(
  ['explore', '--seed', '2', '--budget', `${exploreSeconds}s`, '--format', 'json', '--no-progress'],
  50,
);
const longReport = JSON.parse(longRun.stdout);
// No growth with the number of cases: the peak of the second half against the first.
const half = (longRun.samples.at(-1)?.[0] ?? 0) / 2;
const peakOf = (xs) => Math.max(0, ...xs.map(([, kb]) => kb)) / 1024;
const explore = {
  cases: exploreReport.cases.run,
  casesPerSecond: exploreReport.cases.perSecond,
  // Shares of the explore phase: the lab's runs, the models and the judge, counting maps.
  timing: exploreReport.cases.timing,
  exploreMs: exploreReport.cases.exploreMs,
  longSeconds: exploreSeconds,
  longCases: longReport.cases.run,
  longFindings: longReport.findings.length,
  // RSS summed over Node and its lab children counts the pages they share
  // (a lab child is a clone of Node) once per process: an upper bound. PSS
  // splits them.
  peakRssMb: longRun.peakRssMb,
  peakPssMb: longRun.peakPssMb,
  peakRssFirstHalfMb: peakOf(longRun.samples.filter(([t]) => t < half)),
  peakRssSecondHalfMb: peakOf(longRun.samples.filter(([t]) => t >= half)),
};

// --- optional for root: the same catalogue with vm.max_map_count lowered for the run ---
let lowered = null;
if (process.getuid?.() === 0) {
  log('the default run with --lower-limit 4096');
  const low = await measure(['run', '--format', 'json', '--no-progress', '--lower-limit', '4096']);
  const lr = JSON.parse(low.stdout);
  const verdicts = (r) => Object.fromEntries(r.cases.map((c) => [c.id, c.verdict]));
  const a = verdicts(report);
  const b = verdicts(lr);
  const differing = Object.keys(a).filter((id) => a[id] !== b[id]);
  lowered = {
    limit: 4096,
    runWallMs: low.wallMs,
    speedup: byWall.wallMs / low.wallMs,
    sameVerdicts: differing.length === 0,
    differing,
    restored: readMaxMapCount() === M,
  };
}

// --- the matrix: the two shared kernels and three Debian kernels under TCG ---
// Kernels are fetched first, outside the timing; the guests boot two at a time
// on a 2-core machine (--jobs defaults to the number of CPUs).
let matrix = null;
const sharedKernels =
  process.env.MREMAP_PROBE_SHARED_KERNELS ?? join(root, '..', 'shared', 'kernels');
const sharedFiles = ['bzImage-4.19.222', 'bzImage-5.17-rc5'].map((f) => join(sharedKernels, f));
const hasQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
if (process.argv.includes('--no-matrix')) matrix = { skipped: '--no-matrix' };
else if (!hasQemu) matrix = { skipped: 'no qemu-system-x86_64' };
else if (!sharedFiles.every((f) => existsSync(f)))
  matrix = { skipped: `no shared kernels in ${sharedKernels} (MREMAP_PROBE_SHARED_KERNELS)` };
else {
  const debian = '5.10,6.12,sid';
  log(`fetching Debian ${debian} (not timed)`);
  const fetched = spawnSync(process.execPath, [bin, 'kernels', 'fetch', ...debian.split(',')], {
    encoding: 'utf8',
  });
  if (fetched.status !== 0) matrix = { skipped: `kernels fetch failed: ${fetched.stderr.trim()}` };
  else {
    log('the matrix: 2 shared kernels and Debian 5.10, 6.12, sid under TCG');
    const out = join(tmp, 'matrix.json');
    const args = ['matrix', '--kernel', sharedFiles.join(','), '--debian', debian];
    const m = await measure([...args, '--accel', 'tcg', '--format', 'json', '--output', out]);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    matrix = {
      command: `mremap-probe ${args.join(' ')}`,
      wallS: m.wallMs / 1000,
      jobs: (await import('node:os')).cpus().length,
      kernels: report.kernels.map((k) => ({
        release: k.release,
        origin: k.originShort,
        elapsedS: k.elapsedMs / 1000,
        byVersion: k.report?.era.byVersion ?? null,
        byBehaviour: k.report?.era.byBehaviour ?? null,
        failModel: k.report?.summary.counts['fail:model'] ?? null,
        broken: k.report?.summary.counts.broken ?? null,
        error: k.error,
      })),
    };
  }
}
const matrixWallS = matrix?.wallS ?? null;

const result = {
  machine: {
    release: (await import('node:os')).release(),
    maxMapCount: M,
    cpus: (await import('node:os')).cpus().length,
  },
  fillRatioVsC,
  fill,
  reachMinus1WallMs: reachWallMs,
  runWallMs: run.runWallMs,
  peakRssMb: run.peakRssMb,
  run,
  evidence,
  lowered,
  exploreCasesPerSecond: explore.casesPerSecond,
  explorePeakRssMb: explore.peakRssMb,
  explore,
  matrixWallS,
  matrix,
  targets: {
    fillRatioVsC: 1.3,
    runWallMs: 2000,
    peakRssMb: 150,
    exploreCasesPerSecond: 300,
    explorePeakRssMb: 200,
    matrixWallS: 240,
  },
  met: {
    fillRatioVsC: fillRatioVsC <= 1.3,
    runWallMs: run.runWallMs < 2000,
    peakRssMb: run.peakRssMb < 150,
    exploreCasesPerSecond: explore.casesPerSecond >= 300,
    explorePeakRssMb: explore.peakRssMb < 200,
    ...(matrixWallS !== null ? { matrixWallS: matrixWallS < 240 } : {}),
  },
};

if (json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  const f = (x, d = 1) => (x === null || x === undefined ? '-' : Number(x).toFixed(d));
  const rows = [
    [
      'fill',
      `${N} VMAs: lab ${f(fill.labMs)} ms, C ${f(fill.cMs)} ms`,
      `fillRatioVsC ${f(fillRatioVsC, 2)} (target <= 1.3)`,
    ],
    ['', `${fill.labVmasPerSecond} VMAs/s in the lab, ${fill.cVmasPerSecond} in C`, ''],
    ['reach M-1', `${f(reachWallMs)} ms wall, Node's start included`, ''],
    [
      'default run',
      `${run.cases} cases in ${f(run.runWallMs)} ms wall`,
      `${f(run.runWallMs / 2000, 2)} of the 2 s target`,
    ],
    [
      '',
      `kernel ${f(run.systemMs)} ms, user ${f(run.userMs)} ms CPU`,
      `${f(run.kernelShare * 100)}% of the wall time in the kernel`,
    ],
    [
      'peak memory',
      `RSS ${f(run.peakRssMb)} MB, Node and lab child summed (largest single: ${f(run.maxRssSingleProcessMb)} MB)`,
      `${f(run.peakRssMb / 150, 2)} of the 150 MB target`,
    ],
    [
      'evidence',
      `PROCMAP_QUERY ${f(evidence.procmapQueryMs, 3)} ms per region`,
      evidence.procmapQueryMs
        ? `${f(evidence.wholeMapsInChildMs / evidence.procmapQueryMs, 0)}x faster than reading ${lines} lines (${f(evidence.wholeMapsInChildMs)} ms)`
        : 'no PROCMAP_QUERY: the fallback reads the whole maps',
    ],
    [
      '',
      `count of ${lines} lines in the child ${f(evidence.countInChildMs)} ms; parsed in Node ${f(evidence.wholeMapsParsedInNodeMs)} ms`,
      '',
    ],
  ];
  const t = explore.timing;
  const share = (ms) => `${f((ms / explore.exploreMs) * 100, 0)}%`;
  rows.push(
    [
      'explore',
      `${explore.cases} generated cases at ${f(explore.casesPerSecond, 0)} cases/s`,
      `${f(explore.casesPerSecond / 300, 2)}x the 300 cases/s target`,
    ],
    [
      '',
      `lab ${share(t.labMs)}, models and judge ${share(t.judgeMs)}, map counts ${share(t.verifyMs)}, generator ${share(t.generateMs)}`,
      'of the explore phase',
    ],
    [
      'explore memory',
      `RSS ${f(explore.peakRssMb)} MB (PSS ${f(explore.peakPssMb)} MB) over ${explore.longSeconds} s, ${explore.longCases} cases (first half ${f(explore.peakRssFirstHalfMb)} MB, second ${f(explore.peakRssSecondHalfMb)} MB)`,
      `${f(explore.peakRssMb / 200, 2)} of the 200 MB target`,
    ],
  );
  if (lowered) {
    rows.push([
      '--lower-limit',
      `${f(lowered.runWallMs)} ms with vm.max_map_count ${lowered.limit}`,
      `${f(lowered.speedup, 2)}x faster; same verdicts: ${lowered.sameVerdicts ? 'yes' : `NO (${lowered.differing.join(', ')})`}`,
    ]);
  }
  if (matrixWallS !== null) {
    rows.push([
      'matrix',
      `${matrix.kernels.length} kernels in ${f(matrixWallS)} s under TCG, ${matrix.jobs} at a time`,
      `matrixWallS ${f(matrixWallS / 240, 2)} of the 240 s target`,
    ]);
    for (const k of matrix.kernels)
      rows.push([
        '',
        `${k.release ?? k.error} (${k.origin}): ${f(k.elapsedS)} s`,
        `era ${k.byVersion} / ${k.byBehaviour}, fail:model ${k.failModel}, broken ${k.broken}`,
      ]);
  } else rows.push(['matrix', `not measured: ${matrix.skipped}`, '']);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  process.stdout.write(
    `mremap-probe bench on Linux ${result.machine.release}, vm.max_map_count ${M}\n\n`,
  );
  for (const r of rows) process.stdout.write(`${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}\n`);
  const missed = Object.entries(result.met)
    .filter(([, ok]) => !ok)
    .map(([k]) => k);
  process.stdout.write(`\ntargets ${missed.length ? `MISSED: ${missed.join(', ')}` : 'met'}\n`);
}
process.exitCode = Object.values(result.met).every(Boolean) ? 0 : 1;
