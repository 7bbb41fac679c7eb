// Scenario files: a scenario as data on disk, with where it came from.
// `explore --save DIR` writes them; `run`, `repro` and `explain` read them
// with --cases DIR or --cases FILE. Each file is checked against
// schemas/scenario.v1.schema.json and by validateScenario() before any case
// runs; a bad file is named with its first problem.
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Ajv2020 as Ajv, ValidateFunction } from 'ajv/dist/2020.js';
import { packageRoot } from '../native.js';
import type { ExploreReport, FindingReport } from '../report/explore.js';
import type { Scenario } from '../scenarios/types.js';
import { writeFileWhole } from '../output.js';
import { validateScenario } from './validate.js';

export const SCENARIO_SCHEMA = 'mremap-probe/scenario/v1';

/** Where a saved scenario came from (all but tool and version are optional). */
export interface ScenarioOrigin {
  tool: 'mremap-probe';
  version: string;
  command?: string;
  kernel?: string;
  seed?: number;
  /** The generated case that first showed the finding. */
  generated?: string;
  signature?: string;
  kind?: string;
  verdict?: string;
  reason?: string;
  /** How many generated cases showed the signature. */
  count?: number;
}

export interface ScenarioFile {
  schema: typeof SCENARIO_SCHEMA;
  scenario: Scenario;
  origin: ScenarioOrigin;
}

/** A scenario file that cannot be read or used: the message names the file and its first problem. */
export class ScenarioFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioFileError';
  }
}

let validator: ValidateFunction | undefined;

/** The schema's validator, compiled the first time a file is read (ajv is loaded only then: it costs 11 MB). */
function schemaValidator(): ValidateFunction {
  if (!validator) {
    const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as {
      Ajv2020: typeof Ajv;
    };
    const schema = JSON.parse(
      readFileSync(join(packageRoot, 'schemas', 'scenario.v1.schema.json'), 'utf8'),
    ) as object;
    validator = new Ajv2020({ strict: true, allErrors: false }).compile(schema);
  }
  return validator;
}

/** Checks parsed JSON as a scenario file; returns the scenario or throws naming `name` and the first problem. */
export function parseScenarioFile(json: unknown, name: string): ScenarioFile {
  const schema = (json as { schema?: unknown } | null)?.schema;
  if (schema !== SCENARIO_SCHEMA) {
    throw new ScenarioFileError(
      `${name}: not a scenario file (schema ${JSON.stringify(schema ?? null)}, expected "${SCENARIO_SCHEMA}")`,
    );
  }
  const validate = schemaValidator();
  if (!validate(json)) {
    const e = validate.errors?.[0];
    const where = e?.instancePath || '/';
    const extra =
      e?.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : '';
    throw new ScenarioFileError(`${name}: ${where} ${e?.message ?? 'is invalid'}${extra}`);
  }
  const file = json as ScenarioFile;
  const bad = validateScenario(file.scenario);
  if (bad.length) throw new ScenarioFileError(`${name}: scenario ${file.scenario.id}: ${bad[0]}`);
  return file;
}

function readScenarioFile(path: string): ScenarioFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ScenarioFileError(`${path}: cannot read it: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ScenarioFileError(`${path}: not JSON: ${(err as Error).message}`);
  }
  return parseScenarioFile(json, path);
}

/** The scenario files a path names: the file itself, or every *.json file of a directory, sorted. */
function filesOf(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ScenarioFileError(
      `${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`,
    );
  }
  if (!st.isDirectory()) return [path];
  const names = readdirSync(path)
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .sort();
  if (!names.length) throw new ScenarioFileError(`${path}: no scenario files (*.json) in it`);
  return names.map((n) => join(path, n));
}

export interface LoadedScenarios {
  scenarios: Scenario[];
  /** Scenario id -> the path given that holds it (a file, or the directory it lies in). */
  from: Map<string, string>;
}

/**
 * Loads the scenarios of files and directories, each checked whole before
 * any is returned. Two scenarios with one id, or one that shares an id with
 * `taken` (the catalogue), are an error.
 */
export function loadScenarios(paths: string[], taken: Iterable<string> = []): LoadedScenarios {
  const seen = new Map<string, string>();
  for (const id of taken) seen.set(id, 'the catalogue');
  const scenarios: Scenario[] = [];
  const from = new Map<string, string>();
  for (const path of paths) {
    for (const f of filesOf(path)) {
      const s = readScenarioFile(f).scenario;
      const other = seen.get(s.id);
      if (other) throw new ScenarioFileError(`${f}: scenario ${s.id} is already in ${other}`);
      seen.set(s.id, f);
      scenarios.push(s);
      from.set(s.id, path);
    }
  }
  return { scenarios, from };
}

/** The file name a scenario is saved under: its id, with / as _. */
export function scenarioFileName(id: string): string {
  return `${id.replaceAll('/', '_')}.json`;
}

/**
 * Makes sure scenario files can be written in `dir` (creating it), before
 * any work: nothing is left behind when it cannot.
 */
export function checkSaveDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.mremap-probe.${process.pid}.probe`);
    closeSync(openSync(probe, 'wx', 0o644));
    unlinkSync(probe);
  } catch (err) {
    throw new ScenarioFileError(`cannot write scenario files in ${dir}: ${(err as Error).message}`);
  }
}

/** A saved finding's origin: the explore report and the command that found it, on which kernel. */
export function findingOrigin(
  r: Pick<ExploreReport, 'tool' | 'seed'>,
  f: FindingReport,
  command: string,
  kernel: string,
): ScenarioOrigin {
  return {
    tool: 'mremap-probe',
    version: r.tool.version,
    command,
    kernel,
    seed: r.seed,
    generated: f.firstCase,
    signature: f.signature,
    kind: f.kind,
    verdict: f.verdict,
    reason: f.reason,
    count: f.count,
  };
}

/** A scenario file's text. */
export function scenarioFileText(scenario: Scenario, origin: ScenarioOrigin): string {
  const file: ScenarioFile = { schema: SCENARIO_SCHEMA, scenario, origin };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Writes one scenario file whole: a temporary file in `dir`, renamed into place. Returns its path. */
export function saveScenario(dir: string, scenario: Scenario, origin: ScenarioOrigin): string {
  const path = join(dir, scenarioFileName(scenario.id));
  try {
    writeFileWhole(path, scenarioFileText(scenario, origin));
  } catch (err) {
    throw new ScenarioFileError((err as Error).message);
  }
  return path;
}
