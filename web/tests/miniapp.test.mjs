// The app inside Max, with a stand-in bridge that records what the app asks of it: the back
// button by page, haptics, closing confirmation while work is under way, deep links, one
// session per launch renewed for an hour and resumed by the next launch, a refused initData
// told to the person; and outside Max, a page that paints although Max's bridge script never
// arrives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  MAX_BRIDGE, apiSignIn, apiUpload, baseUrl, launchBrowser, openPage, screenshot, signInitData,
  startSlowUplink,
} from './browser.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const max = (page) => page.evaluate(() => window.__max);

// Waits until `check(window.__max)` holds in the page.
async function untilMax(page, check, what) {
  await page.waitForFunction(check, undefined, { timeout: 10_000 }).catch(async () => {
    throw new Error(`${what}: the bridge saw ${JSON.stringify(await max(page))}`);
  });
}

test("Max's back button shows off the gallery and goes back", async () => {
  const owner = await apiSignIn({ userId: 97001, firstName: 'Bella' });
  const photo = await apiUpload(owner, 951, 'Back and forth');
  const maxInitData = signInitData({ userId: 97002, firstName: 'Boris' });
  const { context, page, problems } = await openPage(browser, { width: 390, height: 844, maxInitData });
  await page.goto(baseUrl);
  await page.locator('[data-testid="account-name"]', { hasText: 'Boris' }).waitFor();
  await untilMax(page, () => window.__max.backButton.at(-1) === 'hide', 'hidden on the gallery');

  await page.locator(`a[href="/photos/${photo.id}"]`).first().click();
  await page.locator('[data-page="photo"]').waitFor();
  await untilMax(page, () => window.__max.backButton.at(-1) === 'show', 'shown on a photo');

  await page.evaluate(() => window.__maxPressBack());
  await page.waitForURL(new URL('/', baseUrl).href);
  await page.locator('[data-page="gallery"]').waitFor();
  await untilMax(page, () => window.__max.backButton.at(-1) === 'hide', 'hidden again');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a favorite buzzes and shows at once; a refused one buzzes an error and is undone', async () => {
  const owner = await apiSignIn({ userId: 97101, firstName: 'Fedor' });
  const photo = await apiUpload(owner, 952, 'Liked');
  const maxInitData = signInitData({ userId: 97102, firstName: 'Fiona' });
  const { context, page, problems } = await openPage(browser, { width: 390, height: 844, maxInitData });
  await page.goto(new URL(`/photos/${photo.id}`, baseUrl).href);
  const favorite = page.locator('[data-testid="favorite"]');
  await favorite.waitFor();
  await page.locator('[data-testid="account-name"]', { hasText: 'Fiona' }).waitFor();
  await favorite.click();
  await page.locator('[data-testid="favorite"][aria-pressed="true"]', { hasText: '♥ 1' }).waitFor();
  await untilMax(page, () => window.__max.haptics.includes('selection'), 'a buzz on the favorite');

  // The server is busy when the favorite is taken back: the heart is shown undone at once,
  // then comes back with the count, a buzz and a message.
  let release;
  const answered = new Promise((resolve) => { release = resolve; });
  await page.route(`**/api/photos/${photo.id}/favorite`, async (route) => {
    await answered;
    await route.fulfill({
      status: 503, contentType: 'application/json', body: JSON.stringify({ code: 'service_unavailable', message: 'busy' }),
    });
  });
  await favorite.click();
  await page.locator('[data-testid="favorite"][aria-pressed="false"]', { hasText: '♥ 0' }).waitFor();
  release();
  await untilMax(page, () => window.__max.haptics.includes('error'), 'an error buzz');
  await page.locator('[data-testid="favorite"][aria-pressed="true"]', { hasText: '♥ 1' }).waitFor();
  await page.locator('[data-page="photo"] [role="alert"]').waitFor();
  assert.ok(problems.every((problem) => problem.includes('503')), problems.join('\n'));
  await context.close();
});

test('closing asks for confirmation while an upload is under way, and not after', async () => {
  const maxInitData = signInitData({ userId: 97201, firstName: 'Clara' });
  const { context, page, problems } = await openPage(browser, { width: 390, height: 844, maxInitData });
  const uplink = await startSlowUplink(256 * 1024);
  try {
    await page.goto(new URL('/upload', uplink.url).href);
    await page.locator('[data-testid="upload-form"]').waitFor();
    const png = await page.evaluate(() => {
      const canvas = document.createElement('canvas');
      canvas.width = 400;
      canvas.height = 400;
      const context = canvas.getContext('2d');
      const pixels = context.createImageData(400, 400);
      crypto.getRandomValues(pixels.data.subarray(0, 65536));
      for (let start = 65536; start < pixels.data.length; start += 65536) {
        crypto.getRandomValues(pixels.data.subarray(start, start + 65536));
      }
      for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = 255;
      context.putImageData(pixels, 0, 0);
      return canvas.toDataURL('image/png').split(',')[1];
    });
    await page.locator('input[type="file"]').setInputFiles({
      name: 'noise.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64'),
    });
    await page.locator('input[name="title"]').fill('Hold on');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('[data-testid="upload-progress"]').waitFor();
    assert.equal((await max(page)).closing.at(-1), 'on', 'confirmation on while the bytes go');
    await page.locator('[data-testid="photo-title"]', { hasText: 'Hold on' }).waitFor();
    await untilMax(page, () => window.__max.closing.at(-1) === 'off', 'confirmation off after');
    assert.deepEqual((await max(page)).closing, ['on', 'off']);
  } finally {
    await uplink.close();
  }
  assert.deepEqual(problems, []);
  await context.close();
});

test('every deep link opens its page', async () => {
  const owner = await apiSignIn({ userId: 97301, firstName: 'Dina', username: 'dina_deep' });
  const photo = await apiUpload(owner, 953, 'Linked');
  const link = await fetch(new URL('/api/claim-links', baseUrl), {
    method: 'POST',
    headers: { Authorization: `Bearer ${owner.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ object_id: photo.object_id }),
  });
  assert.equal(link.status, 201);
  const { token } = await link.json();
  const qr = await (await fetch(new URL('/api/auth/qr', baseUrl), { method: 'POST' })).json();
  const links = [
    [`o_${photo.object_id}`, `/objects/${photo.object_id}`, 'provenance'],
    [`claim_${token}`, `/claim/${token}`, 'claim'],
    [`login_${qr.id}`, `/approve/${qr.id}`, 'approve'],
    ['u_dina_deep', '/users/dina_deep', 'profile'],
  ];
  for (const [startParam, path, pageName] of links) {
    const maxInitData = signInitData({ userId: 97302, firstName: 'Danya', startParam });
    const { context, page, problems } = await openPage(browser, { width: 390, height: 844, maxInitData });
    await page.goto(baseUrl);
    await page.waitForURL(new URL(path, baseUrl).href);
    await page.locator(`[data-page="${pageName}"]`).waitFor();
    await untilMax(page, () => window.__max.backButton.at(-1) === 'show', `the back button on ${path}`);
    assert.deepEqual(problems, [], startParam);
    await context.close();
  }
});

test('one session per launch through an hour of renewals, resumed by the next launch', async () => {
  const maxInitData = signInitData({ userId: 97401, firstName: 'Sasha' });
  const { context, page, problems } = await openPage(browser, { width: 390, height: 844, maxInitData });
  const calls = [];
  page.on('request', (request) => {
    const { pathname } = new URL(request.url());
    if (pathname.startsWith('/api/auth/')) calls.push(pathname);
  });
  await page.clock.install();
  await page.goto(baseUrl);
  await page.locator('[data-testid="account-name"]', { hasText: 'Sasha' }).waitFor();
  assert.deepEqual(calls, ['/api/auth/max']);

  // An hour: the access token (15 minutes) is renewed every 12, each time with the rotating
  // refresh token, never with initData again.
  for (let renewal = 1; renewal <= 5; renewal += 1) {
    const renewed = page.waitForResponse((response) => response.url().endsWith('/api/auth/refresh'));
    await page.clock.runFor(12 * 60 * 1000 + 1000);
    assert.equal((await renewed).status(), 200, `renewal ${renewal}`);
  }
  assert.deepEqual(calls, ['/api/auth/max', ...Array(5).fill('/api/auth/refresh')]);
  await page.locator('[data-testid="account-name"]', { hasText: 'Sasha' }).waitFor();

  // Max's storage holds the session: the next launch resumes it instead of starting another.
  calls.length = 0;
  await page.reload();
  await page.locator('[data-testid="account-name"]', { hasText: 'Sasha' }).waitFor();
  assert.deepEqual(calls, ['/api/auth/refresh'], 'resumed, not signed in anew');

  // One session in the account's list.
  await page.goto(new URL('/settings', baseUrl).href);
  await page.locator('[data-testid="sessions"] li').first().waitFor();
  assert.equal(await page.locator('[data-testid="sessions"] li').count(), 1, 'one session');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a web view that does not look like Max still signs in when the bridge comes late', async () => {
  const maxInitData = signInitData({ userId: 97501, firstName: 'Lena' });
  const { context, page, problems } = await openPage(browser, { width: 390, height: 844, maxInitData });
  // The bridge script arrives only after the app has started as a browser page.
  let release;
  const late = new Promise((resolve) => { release = resolve; });
  // Registered after openPage's stand-in, so it runs first and then hands the request on.
  await context.route(MAX_BRIDGE, async (route) => {
    await late;
    await route.fallback();
  });
  // (The page's load event waits for async scripts: do not wait for it.)
  await page.goto(baseUrl, { waitUntil: 'commit' });
  await page.locator('[data-page="gallery"]').waitFor();
  release();
  await page.locator('[data-testid="account-name"]', { hasText: 'Lena' }).waitFor();
  assert.equal(await page.evaluate(() => window.__maxReady), true);
  assert.deepEqual(problems, []);
  await context.close();
});

test('initData that Max did not sign is refused, and the person is told so', async () => {
  // Signed for another name: the hash no longer matches what the page hands over.
  const signed = new URLSearchParams(signInitData({ userId: 97601, firstName: 'Vera' }));
  signed.set('user', signed.get('user').replace('Vera', 'Mallory'));
  const { context, page, problems } = await openPage(browser, {
    width: 390, height: 844, maxInitData: signed.toString(),
  });
  await page.goto(baseUrl);
  const notice = page.locator('[data-testid="max-sign-in-failed"]');
  await notice.waitFor();
  assert.ok(await notice.isVisible());
  assert.match(await notice.innerText(), /MAX could not confirm who you are/);
  const box = await notice.boundingBox();
  assert.ok(box.width > 200 && box.height > 20, `the notice's box: ${JSON.stringify(box)}`);
  assert.equal(await page.locator('[data-testid="account-name"]').count(), 0);
  await screenshot(page, 'miniapp-sign-in-refused');
  // The browser reports the refused sign-in (401) on its console; nothing else went wrong.
  assert.deepEqual(problems.filter((problem) => !problem.includes('401')), []);
  await context.close();
});

test('a desktop page paints at once although the Max bridge script never arrives', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Blackholed: the request is never answered, nor refused.
  await context.route(MAX_BRIDGE, () => {});
  const page = await context.newPage();
  const started = Date.now();
  await page.goto(baseUrl, { waitUntil: 'commit' });
  await page.locator('[data-page="sign-in"], [data-page="gallery"]').first().waitFor({ timeout: 1000 });
  const painted = await page.evaluate(() => new Promise((resolve) => {
    new PerformanceObserver((entries) => {
      const contentful = entries.getEntries().find((entry) => entry.name === 'first-contentful-paint');
      if (contentful) resolve(contentful.startTime);
    }).observe({ type: 'paint', buffered: true });
  }));
  assert.ok(painted !== undefined && painted < 1000, `first contentful paint at ${painted} ms`);
  assert.ok(Date.now() - started < 2000);
  await context.close();
});
