// Lighthouse (mobile: a mid-range phone on a slow 4G link, simulated) on the gallery with
// photos in it, driving Debian's Chromium: performance and accessibility at least 90. The
// reports go to web/tests/screenshots/lighthouse/ for people to read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';

import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';

import { apiSignIn, apiUpload, baseUrl } from './browser.mjs';

const reports = new URL('./screenshots/lighthouse/', import.meta.url).pathname;

test('Lighthouse scores the gallery on a phone at least 90 for performance and accessibility', async () => {
  const owner = await apiSignIn({ userId: 98101, firstName: 'Lev' });
  for (let seed = 0; seed < 6; seed += 1) await apiUpload(owner, 9810 + seed, `Lighthouse ${seed}`);

  mkdirSync(reports, { recursive: true });
  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    chromeFlags: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const { lhr, report } = await lighthouse(baseUrl, {
      port: chrome.port,
      output: ['html', 'json'],
      onlyCategories: ['performance', 'accessibility'],
      logLevel: 'error',
    });
    writeFileSync(`${reports}gallery-mobile.html`, report[0]);
    writeFileSync(`${reports}gallery-mobile.json`, report[1]);
    const scores = {
      performance: Math.round(lhr.categories.performance.score * 100),
      accessibility: Math.round(lhr.categories.accessibility.score * 100),
    };
    const metrics = ['first-contentful-paint', 'largest-contentful-paint', 'total-blocking-time', 'cumulative-layout-shift']
      .map((id) => `${id} ${lhr.audits[id].displayValue}`).join(', ');
    console.log(`Lighthouse mobile: ${JSON.stringify(scores)}; ${metrics}`);
    assert.ok(scores.performance >= 90, `performance ${scores.performance} (${metrics})`);
    assert.ok(scores.accessibility >= 90, `accessibility ${scores.accessibility}`);
  } finally {
    await chrome.kill();
  }
});
