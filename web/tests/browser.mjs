// Starting Debian's Chromium for the browser tests, and collecting what a page complains about.
import { chromium } from 'playwright-core';

export const baseUrl = process.env.GALLERY_BASE_URL;
if (!baseUrl) {
  throw new Error('GALLERY_BASE_URL is not set: run the browser tests through scripts/test.sh');
}

// Browser downloads are impossible here, so the system's Chromium is used. The flags keep it
// from calling home (the network is closed) and let it run as root in a container.
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

// Opens a page that records console errors, uncaught exceptions and failed requests.
export async function openPage(browser, { width = 1280, height = 800, locale = 'en-US' } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`exception: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`),
  );
  return { context, page, problems };
}

// Saves a screenshot for people to look at (not compared).
export async function screenshot(page, name) {
  await page.screenshot({ path: new URL(`./screenshots/${name}.png`, import.meta.url).pathname, fullPage: true });
}
