// Every page, as a person sees it: on a 360 px phone and a 1280 px desktop, in light and dark,
// checked by axe-core (no serious or critical accessibility violation) and photographed into
// web/tests/screenshots/pages/ for people to look at.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';

import { apiSignIn, apiUpload, baseUrl, launchBrowser, openPage, signInitData } from './browser.mjs';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const shots = new URL('./screenshots/pages/', import.meta.url).pathname;

let browser;
before(async () => {
  browser = await launchBrowser();
  mkdirSync(shots, { recursive: true });
});
after(async () => {
  await browser?.close();
});

// axe-core's serious and critical findings on the page as it is now.
async function violations(page) {
  await page.addScriptTag({ path: axePath });
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((violation) => ['serious', 'critical'].includes(violation.impact))
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes
      .slice(0, 3).map((node) => node.target.join(' ')).join(', ')}`);
}

// What each page needs to exist: a photo and its object, a claim link, a QR sign-in request,
// a profile with a handle.
async function fixtures() {
  const owner = await apiSignIn({ userId: 98001, firstName: 'Polina', username: 'polina_pages' });
  const photo = await apiUpload(owner, 981, 'Every page');
  const link = await fetch(new URL('/api/claim-links', baseUrl), {
    method: 'POST',
    headers: { Authorization: `Bearer ${owner.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ object_id: photo.object_id }),
  });
  const { token } = await link.json();
  const qr = await (await fetch(new URL('/api/auth/qr', baseUrl), { method: 'POST' })).json();
  return { photo, token, qr };
}

test('every page, at 360 and 1280 px, light and dark, has no serious accessibility violation', async () => {
  const { photo, token, qr } = await fixtures();
  const signedIn = [
    ['gallery', '/', 'gallery'],
    ['photo', `/photos/${photo.id}`, 'photo'],
    ['provenance', `/objects/${photo.object_id}`, 'provenance'],
    ['upload', '/upload', 'upload'],
    ['collection', '/collection', 'collection'],
    ['favorites', '/favorites', 'favorites'],
    ['trades', '/trades', 'trades'],
    ['profile', '/users/polina_pages', 'profile'],
    ['requests', '/requests', 'requests'],
    ['search', '/search', 'search'],
    ['settings', '/settings', 'settings'],
    ['scan', '/scan', 'scan'],
    ['approve', `/approve/${qr.id}`, 'approve'],
    ['claim', `/claim/${token}`, 'claim'],
    ['not-found', '/no-such-page', 'not-found'],
  ];
  const signedOut = [['sign-in', '/login', 'sign-in']];
  const maxInitData = signInitData({ userId: 98002, firstName: 'Pavel' });
  const found = [];
  for (const colorScheme of ['light', 'dark']) {
    for (const [width, height, device] of [[360, 780, 'phone'], [1280, 800, 'desktop']]) {
      for (const [pages, initData] of [[signedIn, maxInitData], [signedOut, undefined]]) {
        const { context, page, problems } = await openPage(browser, {
          width, height, colorScheme, bypassCSP: true, maxInitData: initData,
        });
        // One launch, then moving inside the app as a person does (every launch inside Max
        // renews its session; a few a second would be refused as too many).
        await page.goto(baseUrl);
        for (const [name, path, marker] of pages) {
          await page.evaluate((to) => {
            window.history.pushState(null, '', to);
            window.dispatchEvent(new PopStateEvent('popstate'));
          }, path);
          await page.locator(`[data-page="${marker}"]`).waitFor();
          if (initData) await page.locator('[data-testid="account-name"]').waitFor();
          // Loading states settle: no skeleton or "loading" left.
          await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'), undefined, { timeout: 10_000 });
          await page.screenshot({ path: `${shots}${device}-${colorScheme}-${name}.png`, fullPage: true });
          for (const violation of await violations(page)) {
            found.push(`${device} ${colorScheme} ${path}: ${violation}`);
          }
        }
        // The approve page's request is bound to whoever opens it first: others see a refusal.
        assert.deepEqual(problems.filter((problem) => !problem.includes('403') && !problem.includes('409')), []);
        await context.close();
      }
    }
  }
  assert.deepEqual(found, []);
});
