// Lighthouse (mobile: a mid-range phone on a slow 4G link, simulated) on the gallery with
// photos in it, driving Debian's Chromium: performance and accessibility at least 90. Its
// simulation scales the CPU time it observes, which varies with what else the machine does,
// so the scores are those of the median of five runs (as Lighthouse's documentation on
// variability and Lighthouse CI advise). The median run's report goes to
// web/tests/screenshots/lighthouse/ for people to read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';

import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';

import { apiSignIn, apiUpload, baseUrl } from './browser.mjs';

const reports = new URL('./screenshots/lighthouse/', import.meta.url).pathname;
const RUNS = 5;

test('Lighthouse scores the gallery on a phone at least 90 for performance and accessibility', async () => {
  const owner = await apiSignIn({ userId: 98101, firstName: 'Lev' });
  for (let seed = 0; seed < 6; seed += 1) await apiUpload(owner, 9810 + seed, `Lighthouse ${seed}`);

  mkdirSync(reports, { recursive: true });
  const runs = [];
  for (let run = 0; run < RUNS; run += 1) runs.push(await audit());
  runs.sort((a, b) => a.scores.performance - b.scores.performance);
  for (const { scores, metrics } of runs) console.log(`Lighthouse mobile: ${JSON.stringify(scores)}; ${metrics}`);
  const median = runs[Math.floor(RUNS / 2)];
  writeFileSync(`${reports}gallery-mobile.html`, median.report[0]);
  writeFileSync(`${reports}gallery-mobile.json`, median.report[1]);
  const all = runs.map(({ scores }) => scores.performance).join(', ');
  assert.ok(median.scores.performance >= 90,
    `median performance ${median.scores.performance} of ${all} (${median.metrics})`);
  assert.ok(median.scores.accessibility >= 90, `accessibility ${median.scores.accessibility}`);
});

/** One Lighthouse run on the gallery in a fresh Chromium: its scores, metrics and reports. */
async function audit() {
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
    const scores = {
      performance: Math.round(lhr.categories.performance.score * 100),
      accessibility: Math.round(lhr.categories.accessibility.score * 100),
    };
    const metrics = ['first-contentful-paint', 'largest-contentful-paint', 'total-blocking-time', 'cumulative-layout-shift']
      .map((id) => `${id} ${lhr.audits[id].displayValue}`).join(', ');
    return { scores, metrics, report };
  } finally {
    await chrome.kill();
  }
}
