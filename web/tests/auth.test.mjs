// Signing in as a person would: inside Max automatically, on a desktop by QR code (approved
// from the mini-app, the answer arriving on the tab's socket) and by password, staying signed
// in across reloads, signing out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { baseUrl, expectImagesShown, launchBrowser, openPage, screenshot, signInitData } from './browser.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('inside Max the user is signed in automatically', async () => {
  const maxInitData = signInitData({ userId: 91001, firstName: 'Vasya', username: 'vasya_max' });
  const { context, page, problems } = await openPage(browser, { width: 390, height: 800, maxInitData });
  await page.goto(baseUrl);
  await page.locator('[data-testid="account-name"]', { hasText: 'Vasya' }).waitFor();
  assert.equal(await page.evaluate(() => window.__maxReady), true, 'the app told Max it is ready');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a desktop signs in by QR code approved in the mini-app', async () => {
  const desktop = await openPage(browser);
  // The approval arrives on the tab's socket, not by polling over HTTP.
  const frames = { sent: [], received: [] };
  const polls = [];
  desktop.page.on('websocket', (socket) => {
    socket.on('framesent', (frame) => frames.sent.push(String(frame.payload)));
    socket.on('framereceived', (frame) => frames.received.push(String(frame.payload)));
  });
  desktop.page.on('request', (request) => {
    if (request.method() === 'GET' && /\/api\/auth\/qr\/[^/]+$/.test(new URL(request.url()).pathname)) {
      polls.push(request.url());
    }
  });
  await desktop.page.goto(new URL('/login', baseUrl).href);
  await expectImagesShown(desktop.page, '[data-testid="qr-code"]');
  const link = await desktop.page.locator('[data-testid="qr-link"]').getAttribute('href');
  const startParam = new URL(link).searchParams.get('startapp');
  assert.match(startParam, /^login_[A-Za-z0-9_-]+$/);
  const number = await desktop.page.locator('[data-testid="qr-match-code"]').innerText();
  assert.match(number, /^\d\d$/);
  await screenshot(desktop.page, 'desktop-sign-in');

  // The phone scans the code: Max opens the mini-app with the start parameter.
  const maxInitData = signInitData({ userId: 91002, firstName: 'Anna', startParam });
  const phone = await openPage(browser, { width: 390, height: 800, maxInitData });
  await phone.page.goto(baseUrl);
  await phone.page.locator('[data-page="approve"] [data-testid="approve-request"]').waitFor();
  assert.match(await phone.page.locator('[data-testid="approve-device"]').innerText(), /Chrome on Linux/);
  // The phone offers three numbers; the person picks the one the computer shows.
  const choices = phone.page.locator('[data-testid="match-choices"] button');
  assert.equal(await choices.count(), 3);
  await screenshot(phone.page, 'phone-approve');
  await choices.filter({ hasText: number }).click();
  await phone.page.locator('[data-testid="approve-done"]').waitFor();

  // The waiting desktop shows whose account approved, and continues when told to.
  await desktop.page.locator('[data-testid="qr-confirm-name"]', { hasText: 'Anna' }).waitFor();
  await screenshot(desktop.page, 'desktop-confirm');
  await desktop.page.getByRole('button', { name: 'Continue' }).click();
  await desktop.page.locator('[data-testid="signed-in"]', { hasText: 'Anna' }).waitFor();
  await desktop.page.locator('[data-testid="account-name"]', { hasText: 'Anna' }).waitFor();
  const types = (payloads) => payloads.map((payload) => {
    try {
      return JSON.parse(payload).type;
    } catch {
      return payload;
    }
  });
  assert.ok(types(frames.sent).includes('watch_qr_login'), `sent ${types(frames.sent)}`);
  assert.ok(types(frames.received).includes('qr_login_signed_in'), `received ${types(frames.received)}`);
  assert.deepEqual(polls, [], 'no long-polling');

  // And stays signed in across a reload (the httpOnly cookie).
  await desktop.page.reload();
  await desktop.page.locator('[data-testid="account-name"]', { hasText: 'Anna' }).waitFor();
  assert.deepEqual(desktop.problems, []);
  assert.deepEqual(phone.problems, []);
  await desktop.context.close();
  await phone.context.close();
});

test('a password set in settings signs in on a desktop, which can sign out', async () => {
  const maxInitData = signInitData({ userId: 91003, firstName: 'Oleg', username: 'oleg_photos' });
  const phone = await openPage(browser, { width: 390, height: 800, maxInitData });
  await phone.page.goto(new URL('/settings', baseUrl).href);
  const passwordForm = phone.page.locator('[data-testid="password-settings"]');
  await passwordForm.waitFor();
  await passwordForm.locator('input[name="new_password"]').fill('a long enough password');
  await passwordForm.getByRole('button').click();
  await passwordForm.locator('.ok').waitFor();
  // Signing out everywhere would leave the password working: the page says so beforehand.
  const remains = phone.page.locator('[data-testid="password-remains"]');
  await remains.waitFor();
  assert.match(await remains.innerText(), /keeps opening your account/);
  await screenshot(phone.page, 'phone-settings');

  const desktop = await openPage(browser);
  await desktop.page.goto(new URL('/login', baseUrl).href);
  const form = desktop.page.locator('[data-testid="password-form"]');
  await form.locator('input[name="handle"]').fill('oleg_photos');
  await form.locator('input[name="password"]').fill('a long enough password');
  await form.getByRole('button').click();
  await desktop.page.locator('[data-testid="account-name"]', { hasText: 'Oleg' }).waitFor();

  await desktop.page.goto(new URL('/settings', baseUrl).href);
  const sessions = desktop.page.locator('[data-testid="sessions"] li');
  await sessions.nth(1).waitFor();
  assert.equal(await sessions.count(), 2, 'the phone and this desktop');
  await screenshot(desktop.page, 'desktop-settings');

  await desktop.page.locator('[data-testid="sign-out"]').click();
  await desktop.page.locator('.account', { hasText: 'Sign in' }).waitFor();
  await desktop.page.reload();
  await desktop.page.locator('[data-page="settings"]').waitFor();
  await desktop.page.locator('.account', { hasText: 'Sign in' }).waitFor();
  assert.deepEqual(desktop.problems, []);
  assert.deepEqual(phone.problems, []);
  await desktop.context.close();
  await phone.context.close();
});
