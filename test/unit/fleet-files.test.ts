// The GitHub Actions workflow and the LAVA test definition: they parse, and
// every mremap-probe command they run exists with the options they pass.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli, root } from '../helpers.js';

/** Checks `npx mremap-probe <cmd> [opts]` lines against the CLI's own help. */
function checkCommands(script: string): number {
  let n = 0;
  for (const m of script.matchAll(/npx mremap-probe ([a-z]+)((?: [^\n|&;]*)?)/g)) {
    n++;
    const cmd = m[1]!;
    const help = cli([cmd, '--help']);
    expect(help.status, `mremap-probe ${cmd} exists`).toBe(0);
    for (const opt of m[2]!.match(/--[a-z-]+/g) ?? []) {
      expect(help.stdout, `mremap-probe ${cmd} has ${opt}`).toContain(opt);
    }
  }
  return n;
}

describe('GitHub Actions workflow', () => {
  const text = readFileSync(join(root, '.github', 'workflows', 'mremap-probe.yml'), 'utf8');
  const wf = parse(text) as {
    on: unknown;
    jobs: Record<
      string,
      {
        'runs-on': string;
        needs?: string;
        strategy: { matrix: { runner: string[][] } };
        steps: { run?: string; uses?: string; with?: { path?: string; name?: string } }[];
      }
    >;
  };

  it('parses, with a matrix over self-hosted runner labels', () => {
    const job = wf.jobs.probe!;
    expect(job['runs-on']).toBe('${{ matrix.runner }}');
    expect(job.strategy.matrix.runner.length).toBeGreaterThan(1);
    for (const labels of job.strategy.matrix.runner) expect(labels[0]).toBe('self-hosted');
  });

  it('packs once, with both prebuilds, and installs that tarball on runners without a toolchain', () => {
    const pack = wf.jobs.pack!;
    const packRuns = pack.steps.map((s) => s.run ?? '').join('\n');
    expect(packRuns).toContain('g++-aarch64-linux-gnu');
    expect(packRuns).toMatch(/^npm pack$/m);
    const probe = wf.jobs.probe!;
    expect(probe.needs).toBe('pack');
    const labels = probe.strategy.matrix.runner.flat();
    expect(labels).toContain('x64');
    expect(labels).toContain('arm64');
    // No checkout and no source build on the runners: the tarball from the pack job.
    expect(probe.steps.some((s) => s.uses?.startsWith('actions/checkout'))).toBe(false);
    const runs = probe.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).not.toMatch(/npm ci|node-gyp|apt-get/);
    expect(runs).toMatch(/npm install [^\n]*\.\/mremap-probe-\*\.tgz/);
    const download = probe.steps.find((s) => s.uses?.startsWith('actions/download-artifact'))!;
    const upload = pack.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    expect(download.with!.name).toBe(upload.with!.name);
  });

  it('uploads the JSON and JUnit reports', () => {
    const upload = wf.jobs.probe!.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    expect(upload.with!.path).toContain('mremap-probe.json');
    expect(upload.with!.path).toContain('mremap-probe.xml');
  });

  it('runs only commands and options mremap-probe has', () => {
    const runs = wf.jobs.probe!.steps.map((s) => s.run ?? '').join('\n');
    expect(checkCommands(runs)).toBeGreaterThanOrEqual(4);
  });
});

describe('LAVA test definition', () => {
  const text = readFileSync(join(root, 'lava', 'mremap-probe.yaml'), 'utf8');
  const def = parse(text) as {
    metadata: { format: string; name: string };
    params: Record<string, string>;
    run: { steps: string[] };
  };

  it('parses as a Lava-Test Test Definition', () => {
    expect(def.metadata.format).toBe('Lava-Test Test Definition 1.0');
    expect(def.metadata.name).toBe('mremap-probe');
    expect(def.run.steps.length).toBeGreaterThan(2);
  });

  it('runs only commands and options mremap-probe has, and a KTAP converter that exists', () => {
    expect(checkCommands(def.run.steps.join('\n'))).toBe(1);
    const script = def.run.steps.find((s) => s.includes('ktap-to-lava'))!.split(' ')[0]!;
    const path = join(root, script);
    expect(spawnSync('sh', ['-n', path]).status).toBe(0);
  });

  it('turns KTAP results into pass, fail and skip test cases', () => {
    const ktap =
      'KTAP version 1\n1..3\nok 1 a/b@M-5\n# a/c@none: fail:destroyed: x\nnot ok 2 a/c@none\nok 3 a/d@none # SKIP needs Linux 5.7\n# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0\n';
    const file = join(mkdtempSync(join(tmpdir(), 'mp-ktap-')), 'r.ktap');
    writeFileSync(file, ktap);
    const r = spawnSync('sh', [join(root, 'scripts', 'ktap-to-lava.sh'), file], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('a/b@M-5 pass\na/c@none fail\na/d@none skip\n');
  });
});
