// The HTML report opened in a real headless browser (Debian's chromium).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { cli, isLinux, envWithoutSanitizer } from '../helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe.skipIf(!isLinux || !existsSync(CHROMIUM))('HTML report in headless chromium', () => {
  it('loads with no console errors and draws one strip set per case', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-html-'));
    const file = join(dir, 'report.html');
    const r = cli(['run', '--format', 'html', '--output', file]);
    expect([0, 1]).toContain(r.status);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      env: envWithoutSanitizer(),
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning')
          problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('requestfailed', (q) => problems.push(`request failed: ${q.url()}`));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const sections = await page.locator('section.case').count();
      const drawings = await page.locator('section.case svg.case-drawing').count();
      expect(sections).toBeGreaterThanOrEqual(60);
      expect(drawings).toBe(sections);
      // Destroyed pages are marked where the summary says something was destroyed.
      const destroyedCases = await page.locator('section.case:has(path.destroyed)').count();
      const summary = await page.locator('body').innerText();
      const m = /(\d+) fail:destroyed/.exec(summary);
      expect(destroyedCases).toBe(Number(m![1]));
      // Each drawing has the three strips: before, the model, observed.
      const first = page.locator('svg.case-drawing').first();
      const text = await first.textContent();
      expect(text).toMatch(/before.*model.*observed/s);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
