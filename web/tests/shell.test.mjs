// The web shell: its name shows while it loads; it renders, routes every page, switches
// language, fits phones and desktops, and reads the server's status, without a single console
// error.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import http from 'node:http';

import { baseUrl, launchBrowser, openPage, screenshot, signInitData } from './browser.mjs';

// Every route of the app and the page it must render.
const PAGES = [
  ['/', 'gallery'],
  ['/photos/1', 'photo'],
  ['/objects/1', 'provenance'],
  ['/upload', 'upload'],
  ['/collection', 'collection'],
  ['/favorites', 'favorites'],
  ['/trades', 'trades'],
  ['/users/someone', 'profile'],
  ['/requests', 'requests'],
  ['/search', 'search'],
  ['/settings', 'settings'],
  ['/login', 'sign-in'],
  ['/scan', 'scan'],
  ['/approve/abc', 'approve'],
  ['/no/such/page', 'not-found'],
];

// /photos/1 names a photo that does not exist: its page asks the API, which rightly answers
// 404, and the browser logs that. Nothing else may complain.
const onlyTheMissingPhoto = (problems) =>
  problems.filter((problem) => !problem.includes('status of 404'));

let browser;
before(async () => {
  mkdirSync(new URL('./screenshots/', import.meta.url), { recursive: true });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('the app renders with the server status and no console errors', async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(baseUrl);
  await page.locator('[data-page="gallery"]').waitFor();
  await page.locator('[data-testid="status-line"][data-state="online"]').waitFor();
  assert.match(await page.locator('[data-testid="status-line"]').innerText(), /Server online/);
  assert.equal(await page.locator('h1').innerText(), 'Gallery');
  await screenshot(page, 'desktop-gallery');
  assert.deepEqual(problems, []);
  await context.close();
});

test("the app's name shows at once while the client loads, and goes when it starts", async () => {
  const { context, page } = await openPage(browser, { width: 390, height: 844 });
  // The client held back: what a slow link shows for its first seconds.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/*.wasm', async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(baseUrl);
  const splash = page.locator('#splash');
  await splash.waitFor();
  assert.equal(await splash.innerText(), 'Max Photo Gallery');
  const box = await splash.boundingBox();
  assert.ok(box.width > 300 && box.height > 300, `the splash fills the screen: ${JSON.stringify(box)}`);
  await screenshot(page, 'phone-splash');
  release();
  await page.locator('[data-page="gallery"]').waitFor();
  assert.equal(await splash.isVisible(), false, 'hidden once the client runs');
  await context.close();
});

test('every route renders its page, opened directly by URL', async () => {
  const { context, page, problems } = await openPage(browser);
  for (const [path, name] of PAGES) {
    await page.goto(new URL(path, baseUrl).href);
    await page.locator(`[data-page="${name}"]`).waitFor({ timeout: 10_000 });
    assert.ok((await page.locator('h1').innerText()).length > 0, `${path} has a heading`);
  }
  assert.deepEqual(onlyTheMissingPhoto(problems), []);
  await context.close();
});

test('navigation links move between pages without reloading', async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(baseUrl);
  await page.locator('[data-page="gallery"]').waitFor();
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.locator('.mainnav a[href="/settings"]').click();
  await page.locator('[data-page="settings"]').waitFor();
  assert.equal(new URL(page.url()).pathname, '/settings');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no full reload');
  assert.deepEqual(problems, []);
  await context.close();
});

test('the language switch changes the interface and is remembered', async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(baseUrl);
  await page.locator('[data-page="gallery"]').waitFor();
  assert.equal(await page.locator('h1').innerText(), 'Gallery');

  await page.locator('.lang-switch button[data-lang="ru"]').click();
  await page.locator('h1', { hasText: 'Галерея' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'ru');
  assert.equal(await page.locator('.lang-switch button[data-lang="ru"]').getAttribute('aria-pressed'), 'true');

  await page.reload();
  await page.locator('h1', { hasText: 'Галерея' }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('a Russian browser starts in Russian', async () => {
  const { context, page, problems } = await openPage(browser, { locale: 'ru-RU' });
  await page.goto(baseUrl);
  await page.locator('h1', { hasText: 'Галерея' }).waitFor();
  await page.locator('[data-testid="status-line"][data-state="online"]').waitFor();
  assert.match(await page.locator('[data-testid="status-line"]').innerText(), /Сервер на связи/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a 360 px phone gets the tab bar and no horizontal scrolling', async () => {
  const { context, page, problems } = await openPage(browser, { width: 360, height: 740 });
  for (const [path, name] of PAGES) {
    await page.goto(new URL(path, baseUrl).href);
    await page.locator(`[data-page="${name}"]`).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px`);
  }
  await page.goto(baseUrl);
  await page.locator('[data-testid="status-line"][data-state="online"]').waitFor();
  assert.ok(await page.locator('.tabbar').isVisible(), 'the tab bar shows on phones');
  assert.ok(!(await page.locator('.mainnav').isVisible()), 'the desktop navigation hides on phones');
  await page.locator('.tabbar a[href="/upload"]').click();
  await page.locator('[data-page="upload"]').waitFor();
  await screenshot(page, 'phone-upload');
  assert.deepEqual(onlyTheMissingPhoto(problems), []);
  await context.close();
});

test('inside Max the interface speaks the user\'s language, not the browser\'s', async () => {
  // Max says Russian; the browser says English.
  const maxInitData = signInitData({ userId: 95001, firstName: 'Oleg', language: 'ru' });
  const { context, page, problems } = await openPage(browser, { locale: 'en-US', maxInitData });
  await page.goto(new URL('/settings', baseUrl).href);
  await page.locator('[data-testid="account-name"]', { hasText: 'Oleg' }).waitFor();
  await page.locator('nav a', { hasText: 'Галерея' }).first().waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'ru');
  assert.equal(await page.locator('select[name="language"]').inputValue(), 'ru');

  // Switching in the header is the user's choice from now on, on this device and others.
  await page.locator('.lang-switch button[data-lang="en"]').click();
  await page.locator('nav a', { hasText: 'Gallery' }).first().waitFor();
  await page.locator('select[name="language"]').evaluate((select) => select.value === 'en' || null);
  const other = await openPage(browser, { locale: 'ru-RU', maxInitData });
  await other.page.goto(new URL('/settings', baseUrl).href);
  await other.page.locator('[data-testid="account-name"]', { hasText: 'Oleg' }).waitFor();
  await other.page.locator('nav a', { hasText: 'Gallery' }).first().waitFor();
  assert.equal(await other.page.locator('select[name="language"]').inputValue(), 'en');

  assert.deepEqual([...problems, ...other.problems], []);
  await other.context.close();
  await context.close();
});

// The bytes a phone downloads on its first visit: the wasm and the js, as the server sends
// them to a browser that accepts brotli and gzip. The budget is 300 kB: 300,000 bytes.
test('the client arrives compressed, within 300 KB of wasm and js', async () => {
  const index = await (await fetch(baseUrl)).text();
  const assets = [...index.matchAll(/(?:href|from|module_or_path:)\s*=?\s*['"](\/gallery-web-[0-9a-f]+(?:_bg\.wasm|\.js))['"]/g)]
    .map((match) => match[1]);
  const unique = [...new Set(assets)];
  assert.equal(unique.length, 2, `the js and the wasm: ${unique}`);
  let total = 0;
  for (const path of unique) {
    const { encoding, bytes } = await new Promise((resolve, reject) => {
      http.get(new URL(path, baseUrl), { headers: { 'accept-encoding': 'br, gzip' } }, (response) => {
        let bytes = 0;
        response.on('data', (chunk) => { bytes += chunk.length; });
        response.on('end', () => resolve({ encoding: response.headers['content-encoding'], bytes }));
      }).on('error', reject);
    });
    assert.equal(encoding, 'br', path);
    total += bytes;
  }
  console.log(`web client on the wire: ${total} bytes of wasm and js (brotli)`);
  assert.ok(total <= 300_000, `${total} bytes on the wire`);
});

test('the API documentation renders under its own CSP, without a console error', async () => {
  const { context, page, problems } = await openPage(browser);
  const response = await page.goto(new URL('/api/docs/', baseUrl).href);
  assert.match(response.headers()['content-security-policy'], /frame-ancestors 'none'/);
  const title = page.locator('.swagger-ui .info .title');
  await title.waitFor({ timeout: 10_000 });
  assert.match(await title.innerText(), /Max Photo Gallery API/);
  const operation = page.locator('.opblock-summary-path', { hasText: '/photos' }).first();
  assert.ok(await operation.isVisible(), 'the operations are listed');
  await screenshot(page, 'api-docs');
  assert.deepEqual(problems, []);
  await context.close();
});
