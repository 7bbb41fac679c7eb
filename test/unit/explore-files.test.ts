// Scenario files: written whole, read back the same, and a bad file named
// with its first problem before anything runs.
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  checkSaveDir,
  loadScenarios,
  SCENARIO_SCHEMA,
  saveScenario,
  ScenarioFileError,
  scenarioFileName,
} from '../../lib/explore/files.js';
import { generateScenarios } from '../../lib/explore/generate.js';
import { catalogue } from '../../lib/scenarios/index.js';
import { isRoot, root } from '../helpers.js';

const origin = { tool: 'mremap-probe' as const, version: '0.0.0' };
const fresh = () => mkdtempSync(join(tmpdir(), 'mp-files-'));

describe('scenario files', () => {
  it('round-trip: what is saved loads back equal, from the file or its directory', () => {
    const dir = fresh();
    const ss = generateScenarios(9, 5);
    const paths = ss.map((s) => saveScenario(dir, s, { ...origin, seed: 9, count: 2 }));
    expect(readdirSync(dir).sort()).toEqual(ss.map((s) => scenarioFileName(s.id)).sort());
    const fromDir = loadScenarios([dir]);
    expect(fromDir.scenarios.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...ss].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(fromDir.from.get(ss[0]!.id)).toBe(dir);
    expect(loadScenarios([paths[2]!]).scenarios).toEqual([ss[2]]);
  });

  it('validate against the documented schema, which ajv compiles in strict mode', () => {
    const dir = fresh();
    const path = saveScenario(dir, generateScenarios(9, 1)[0]!, origin);
    const schema = JSON.parse(
      readFileSync(join(root, 'schemas', 'scenario.v1.schema.json'), 'utf8'),
    ) as object;
    const validate = new Ajv2020({ strict: true }).compile(schema);
    expect(validate(JSON.parse(readFileSync(path, 'utf8')))).toBe(true);
    // The catalogue's scenarios are scenarios too.
    for (const s of catalogue()) {
      expect(validate({ schema: SCENARIO_SCHEMA, scenario: s, origin }), s.id).toBe(true);
    }
  });

  const bad = (json: unknown): string => {
    const dir = fresh();
    const f = join(dir, 'x.json');
    writeFileSync(f, typeof json === 'string' ? json : JSON.stringify(json));
    try {
      loadScenarios([dir]);
    } catch (err) {
      expect(err).toBeInstanceOf(ScenarioFileError);
      return (err as Error).message;
    }
    throw new Error('loaded a bad file');
  };
  const good = () => ({ schema: SCENARIO_SCHEMA, scenario: generateScenarios(9, 1)[0]!, origin });

  it('refuse a file of another schema, naming the file', () => {
    expect(bad({ schema: 'mremap-probe/run-report/v1', cases: [] })).toMatch(
      /x\.json: not a scenario file \(schema "mremap-probe\/run-report\/v1", expected "mremap-probe\/scenario\/v1"\)$/,
    );
    expect(bad('{ nope')).toMatch(/x\.json: not JSON: /);
  });

  it('refuse a scenario the schema or validateScenario rejects, with the first problem', () => {
    const f = good();
    (f.scenario.call as { oldPages: number }).oldPages = 0;
    expect(bad(f)).toMatch(/x\.json: \/scenario\/call\/oldPages must be >= 1$/);
    const g = good();
    (g.scenario as { extra?: number }).extra = 1;
    expect(bad(g)).toMatch(/x\.json: \/scenario must NOT have additional properties \(extra\)$/);
    const h = good();
    h.scenario.layout.push({ ...h.scenario.layout[0]!, label: 'twin' });
    expect(bad(h)).toMatch(/x\.json: scenario explore\/9-0@.*: pieces .* overlap$/);
  });

  it('refuse two scenarios with one id, or one that is in the catalogue', () => {
    const dir = fresh();
    const s = generateScenarios(9, 1)[0]!;
    saveScenario(dir, s, origin);
    writeFileSync(
      join(dir, 'copy.json'),
      JSON.stringify({ schema: SCENARIO_SCHEMA, scenario: s, origin }),
    );
    expect(() => loadScenarios([dir])).toThrow(/scenario explore\/9-0@.* is already in /);
    const c = catalogue()[0]!;
    const d2 = fresh();
    saveScenario(d2, c, origin);
    expect(() => loadScenarios([d2], [c.id])).toThrow(/is already in the catalogue/);
  });

  it('say so for a path that is not there, or a directory without scenario files', () => {
    expect(() => loadScenarios(['/nonexistent/mp'])).toThrow(
      /^\/nonexistent\/mp: no such file or directory$/,
    );
    expect(() => loadScenarios([fresh()])).toThrow(/no scenario files \(\*\.json\) in it/);
  });

  it('a directory that cannot be made is refused before any work', () => {
    const dir = fresh();
    const file = join(dir, 'plain');
    writeFileSync(file, '');
    expect(() => checkSaveDir(join(file, 'sub'))).toThrow(
      /^cannot write scenario files in .*plain\/sub: ENOTDIR/,
    );
    expect(readdirSync(dir)).toEqual(['plain']);
  });

  it('a read-only directory is refused before any work, leaving nothing', (ctx) => {
    if (isRoot) ctx.skip('root writes into a read-only directory');
    const ro = join(fresh(), 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    expect(() => checkSaveDir(ro)).toThrow(/cannot write scenario files in /);
    expect(readdirSync(ro)).toEqual([]);
  });
});
