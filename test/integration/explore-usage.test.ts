// explore, and the commands that read scenario files, refuse bad input with
// one line and exit 2, before running anything and without leaving files.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mp-explore-usage-'));

function refused(args: string[], message: RegExp): void {
  const r = cli(args);
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr.trim()).toMatch(message);
  expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  expect(r.stdout).toBe('');
}

describe('explore refuses bad input with one line and exit 2', () => {
  it('a --budget that is not a duration', () => {
    refused(['explore', '--budget', 'soon'], /--budget wants a duration such as 60s, 5m/);
    refused(['explore', '--budget', '0s'], /--budget wants a duration/);
    refused(['explore', '--budget', '5x'], /--budget wants a duration/);
  });

  it('--budget and --cases together, or a --cases that is not a count', () => {
    refused(['explore', '--budget', '10s', '--cases', '5'], /exclude each other/);
    refused(['explore', '--cases', 'many'], /--cases wants an integer/);
  });

  it('a --pressure range that is not one', () => {
    refused(['explore', '--pressure', 'M-3..M-5'], /--pressure: M-3 lies above M-5/);
    refused(['explore', '--pressure', '65000'], /--pressure takes offsets from the limit/);
    refused(['explore', '--pressure', 'M+2'], /within M-4096..M\+1/);
    refused(['explore', '--pressure', 'lots'], /--pressure: a target is M, M-k, M\+k/);
  });

  it('an unknown era or format, a bad seed or cap', () => {
    refused(['explore', '--era', '2.4'], /unknown era "2.4"/);
    refused(['explore', '--format', 'ktap'], /unknown format "ktap": use one of table, json, html/);
    refused(['explore', '--seed', '-1'], /--seed/);
    refused(['explore', '--global-cap', 'big'], /--global-cap wants a size/);
  });

  it('an unwritable --save: nothing is run, nothing is left behind', () => {
    const here = mkdtempSync(join(dir, 'save-'));
    const plain = join(here, 'plain');
    writeFileSync(plain, '');
    const out = join(here, 'r.json');
    refused(
      ['explore', '--cases', '10', '--save', join(plain, 'f'), '--output', out],
      /cannot write scenario files in .*plain\/f/,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(here)).toEqual(['plain']);
  });
});

describe('--cases refuses a file of another schema, naming it', () => {
  const report = join(dir, 'report.json');
  writeFileSync(report, JSON.stringify({ schema: 'mremap-probe/run-report/v1', cases: [] }));
  const want = /report\.json: not a scenario file \(schema "mremap-probe\/run-report\/v1"/;

  it('run', () => refused(['run', '--cases', report], want));
  it('repro', () => refused(['repro', 'explore/1-0@none', '--cases', report], want));
  it('explain', () => refused(['explain', 'explore/1-0@none', '--cases', report], want));
  it('a path that is not there', () =>
    refused(['run', '--cases', join(dir, 'nothing')], /nothing: no such file or directory$/));
});
