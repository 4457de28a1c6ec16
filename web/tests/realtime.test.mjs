// Live updates as a person sees them: another user's upload, favorite, edit and deletion
// reach open pages without reloading; a dropped socket shows "reconnecting", comes back,
// and delivers what happened in between; a photo given into a private collection leaves the
// pages of those who may no longer see it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { baseUrl, expectImagesShown, launchBrowser, openPage, screenshot, signInitData } from './browser.mjs';

let browser;
// Bob acts through the API, as his phone would; the pages under test belong to Alice.
let bob;
before(async () => {
  browser = await launchBrowser();
  bob = await signInThroughApi({ userId: 96002, firstName: 'Bob' });
});
after(async () => {
  await browser?.close();
});

// Calls the JSON API as Bob's phone does (bearer token, no cookies).
async function api(path, { token, method = 'GET', json, form } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let body = form;
  if (json) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const response = await fetch(new URL(path, baseUrl), { method, headers, body });
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

async function signInThroughApi({ userId, firstName }) {
  const initData = signInitData({ userId, firstName });
  return api('/api/auth/max', { method: 'POST', json: { init_data: initData } });
}

// A small noisy PNG whose bytes no other upload shares (identical bytes are refused as a
// duplicate), drawn in `page` (any page will do, even about:blank).
async function makePng(page) {
  const seed = Math.floor(Math.random() * 1_000_000);
  const dataUrl = await page.evaluate((seed) => {
    const size = 96;
    const canvas = document.createElement('canvas');
    canvas.width = size;
    canvas.height = size;
    const context = canvas.getContext('2d');
    const pixels = context.createImageData(size, size);
    for (let i = 0; i < pixels.data.length; i += 1) pixels.data[i] = (i * 7919 + (i >> 3) * 104729 + seed * 31) % 256;
    for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = 255;
    context.putImageData(pixels, 0, 0);
    return canvas.toDataURL('image/png');
  }, seed);
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

async function upload(token, png, title) {
  const form = new FormData();
  form.append('file', new Blob([png], { type: 'image/png' }), 'photo.png');
  form.append('title', title);
  form.append('description', '');
  form.append('tags', '');
  return api('/api/photos', { token, method: 'POST', form });
}

// Counts the page's requests for one photo from now on: a change that arrives over the socket
// needs none.
function countPhotoRequests(page, id) {
  const counter = { count: 0 };
  page.on('request', (request) => {
    if (request.method() === 'GET' && new URL(request.url()).pathname === `/api/photos/${id}`) counter.count += 1;
  });
  return counter;
}

test("another user's upload, favorite, edit and deletion show up without reloading", async () => {
  const alice = await openPage(browser, { maxInitData: signInitData({ userId: 96001, firstName: 'Alice' }) });
  const { page } = alice;
  await page.goto('about:blank');
  const [first, second] = [await makePng(page), await makePng(page)];
  // Something in the gallery already, so that a new photo is announced rather than shown.
  await upload(bob.access_token, first, 'Already here');
  await page.goto(baseUrl);
  await page.locator('[data-testid="photo-grid"] .photo-card').first().waitFor();
  await page.locator('[data-testid="realtime-state"][data-state="live"]').waitFor();

  const photo = await upload(bob.access_token, second, 'Harbour at dawn');
  const announcement = page.locator('[data-testid="new-photos"]');
  await announcement.waitFor();
  assert.match(await announcement.innerText(), /New photos · \d+/);
  // The grid stays as it was until Alice asks.
  const card = page.locator('[data-testid="photo-grid"] .photo-card', { hasText: 'Harbour at dawn' });
  assert.equal(await card.count(), 0);
  await screenshot(page, 'desktop-new-photos');
  await announcement.click();
  await card.waitFor();
  await expectImagesShown(page, '[data-testid="photo-grid"] .photo-card img', { atLeast: 2 });

  // On the photo's page, Bob's favorite, edit and deletion arrive as they happen.
  await card.click();
  await expectImagesShown(page, '[data-testid="photo-viewer"] img');
  await page.locator('[data-testid="photo-title"]', { hasText: 'Harbour at dawn' }).waitFor();
  await page.locator('[data-testid="favorite"]', { hasText: '♥ 0' }).waitFor();
  const requests = countPhotoRequests(page, photo.id);

  await api(`/api/photos/${photo.id}/favorite`, { token: bob.access_token, method: 'PUT' });
  await page.locator('[data-testid="favorite"][aria-pressed="false"]', { hasText: '♥ 1' }).waitFor();

  await api(`/api/photos/${photo.id}`, {
    token: bob.access_token,
    method: 'PATCH',
    json: { title: 'Harbour at sunrise', tags: ['sea'] },
  });
  await page.locator('[data-testid="photo-title"]', { hasText: 'Harbour at sunrise' }).waitFor();
  await page.locator('[data-page="photo"] .tags', { hasText: '#sea' }).waitFor();

  await api(`/api/photos/${photo.id}`, { token: bob.access_token, method: 'DELETE' });
  await page.locator('[data-testid="photo-deleted"]').waitFor();
  assert.equal(await page.locator('[data-testid="favorite"]').count(), 0, 'a deleted photo offers no actions');

  assert.equal(requests.count, 0, 'every change came over the socket');
  assert.deepEqual(alice.problems, []);
  await alice.context.close();
});

test('a dropped socket shows "reconnecting", then catches up on what it missed', async () => {
  const alice = await openPage(browser, {
    width: 390,
    height: 844,
    maxInitData: signInitData({ userId: 96003, firstName: 'Alisa' }),
  });
  const { context, page } = alice;
  // The tab's socket goes through the test, which can cut it, and refuse the tries to reopen
  // it for as long as `refusing` holds.
  const sockets = [];
  let refusing = false;
  await context.routeWebSocket(/\/ws(\?|$)/, (socket) => {
    sockets.push(socket);
    if (refusing) socket.close({ code: 1011, reason: 'refused by the test' });
    else socket.connectToServer();
  });

  await page.goto('about:blank');
  const photo = await upload(bob.access_token, await makePng(page), 'Lighthouse');
  await page.goto(new URL(`/photos/${photo.id}`, baseUrl).href);
  await page.locator('[data-testid="favorite"]', { hasText: '♥ 0' }).waitFor();
  const liveState = page.locator('[data-testid="realtime-state"][data-state="live"]');
  await liveState.waitFor();
  const requests = countPhotoRequests(page, photo.id);

  // The server goes away; while the tab tries to come back, Bob favorites the photo.
  refusing = true;
  await sockets.at(-1).close({ code: 1001, reason: 'going away' });
  await page.locator('[data-testid="realtime-state"][data-state="reconnecting"]').waitFor();
  await screenshot(page, 'phone-reconnecting');
  await api(`/api/photos/${photo.id}/favorite`, { token: bob.access_token, method: 'PUT' });
  assert.equal(await page.locator('[data-testid="favorite"]').innerText(), '♥ 0');

  // Back: the new socket resumes after the last event seen and replays the favorite.
  const triedBefore = sockets.length;
  refusing = false;
  await liveState.waitFor();
  await page.locator('[data-testid="favorite"]', { hasText: '♥ 1' }).waitFor();
  assert.ok(sockets.length > triedBefore, 'the tab opened a new socket');
  assert.match(new URL(sockets.at(-1).url()).searchParams.get('after') ?? '', /^\d+$/, 'it resumed from a sequence number');
  assert.equal(requests.count, 0, 'the missed event was replayed, not fetched again');
  assert.deepEqual(alice.problems, []);
  await context.close();
});

test('a photo given into a private collection leaves the grid and its page for those who may not see it', async () => {
  const carol = await signInThroughApi({ userId: 96003, firstName: 'Carol' });
  await api('/api/me', { token: carol.access_token, method: 'PATCH', json: { is_private: true } });
  const alice = await openPage(browser, { maxInitData: signInitData({ userId: 96001, firstName: 'Alice' }) });
  const { page } = alice;
  await page.goto('about:blank');
  const [first, second] = [await makePng(page), await makePng(page)];
  const fromTheGrid = await upload(bob.access_token, first, 'Given from the grid');
  const fromItsPage = await upload(bob.access_token, second, 'Given from its page');
  const giveToCarol = (photo) =>
    api('/api/transfers', {
      token: bob.access_token,
      method: 'POST',
      json: { object_id: photo.object_id, to_user_id: carol.user.id },
    });
  await page.goto(baseUrl);
  const card = (title) => page.locator('[data-testid="photo-grid"] .photo-card', { hasText: title });
  await card('Given from the grid').waitFor();
  await page.locator('[data-testid="realtime-state"][data-state="live"]').waitFor();

  await giveToCarol(fromTheGrid);
  await card('Given from the grid').waitFor({ state: 'detached' });
  assert.equal(await card('Given from its page').isVisible(), true, 'the other photo stays');

  await card('Given from its page').click();
  await expectImagesShown(page, '[data-testid="photo-viewer"] img');
  const refused = [];
  page.on('response', (response) => {
    if (response.status() >= 400) refused.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  await giveToCarol(fromItsPage);
  await page.getByText('There is no such photo, or its owner keeps it private.').waitFor();
  assert.equal(await page.locator('[data-testid="photo-viewer"] img').count(), 0, 'the photo is no longer shown');
  await screenshot(page, 'desktop-photo-hidden');
  // The page asked for the photo again, and was told it is not there for Alice: the only
  // refusal, and the only complaint in the console.
  assert.ok(refused.length > 0);
  assert.deepEqual(new Set(refused), new Set([`404 /api/photos/${fromItsPage.id}`]));
  assert.deepEqual(
    alice.problems,
    refused.map(() => 'console: Failed to load resource: the server responded with a status of 404 (Not Found)'),
  );
  await alice.context.close();
});
