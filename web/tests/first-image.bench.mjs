// How soon a phone shows the first photo of the gallery: a 390 px wide page on an emulated
// fast 4G link (9 Mbit/s down and up, 60 ms latency), from the navigation's start to the
// first grid image loaded. Prints JSON: every run's figure in ms, and the median.
//
//   node first-image.bench.mjs RUNS   (GALLERY_BASE_URL, GALLERY_BIN set; see scripts/bench-web.sh)
import { apiSignIn, apiUpload, baseUrl, launchBrowser } from './browser.mjs';

const runs = Number(process.argv[2] || 5);
const owner = await apiSignIn({ userId: 99001, firstName: 'Bench' });
for (let seed = 0; seed < 8; seed += 1) await apiUpload(owner, 9900 + seed, `Bench ${seed}`);

const browser = await launchBrowser();
const figures = [];
try {
  for (let run = 0; run < runs; run += 1) {
    // A new context each time: nothing cached, as on a first visit.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 60, downloadThroughput: 9e6 / 8, uploadThroughput: 9e6 / 8,
    });
    await page.addInitScript(() => {
      window.__firstImage = null;
      document.addEventListener('load', (event) => {
        if (window.__firstImage === null && event.target.tagName === 'IMG' && event.target.closest('.photo-grid')) {
          window.__firstImage = performance.now();
        }
      }, true);
    });
    await page.goto(baseUrl, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__firstImage !== null, undefined, { timeout: 30_000 });
    figures.push(Math.round(await page.evaluate(() => window.__firstImage)));
    await context.close();
  }
} finally {
  await browser.close();
}
const sorted = [...figures].sort((a, b) => a - b);
console.log(JSON.stringify({ runs: figures, median_ms: sorted[Math.floor(sorted.length / 2)] }));
