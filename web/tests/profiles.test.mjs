// Profiles as people use them: a private profile seen by a stranger, a request sent, approved
// in another browser, the collection appearing without a reload — and gone again, without a
// reload, when the owner takes access back in settings.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';

import {
  apiSignIn, apiUpload, baseUrl, expectImagesShown, launchBrowser, openPage, screenshot,
  signInitData,
} from './browser.mjs';

let browser;
before(async () => {
  mkdirSync(new URL('./screenshots/', import.meta.url), { recursive: true });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const page = (path) => new URL(path, baseUrl).href;

async function makePrivate(user) {
  const response = await fetch(new URL('/api/me', baseUrl), {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ is_private: true, bio: 'Night trains and harbours' }),
  });
  assert.equal(response.status, 200, await response.text());
}

test('a private profile is requested, approved elsewhere and shown without a reload', async () => {
  const olga = { userId: 94001, firstName: 'Olga', username: 'olga_private' };
  const petr = { userId: 94002, firstName: 'Petr', username: 'petr_curious' };
  const olgaApi = await apiSignIn(olga);
  await apiSignIn(petr);
  const photo = await apiUpload(olgaApi, 11, 'Night train');
  await makePrivate(olgaApi);

  // Petr, on his phone, finds a private profile: her name, no collection, a way to ask.
  const petrPage = await openPage(browser, { width: 390, height: 844, maxInitData: signInitData(petr) });
  await petrPage.page.goto(page('/users/olga_private'));
  const restricted = petrPage.page.locator('[data-testid="profile-restricted"]');
  await restricted.waitFor();
  assert.equal(await petrPage.page.locator('[data-testid="profile-name"]').textContent(), 'Olga');
  assert.equal(await petrPage.page.locator('[data-testid="profile-bio"]').count(), 0, 'no bio for strangers');
  assert.equal(await petrPage.page.locator('[data-testid="profile-collection"]').count(), 0);
  assert.equal(await petrPage.page.locator(`img[alt="Night train"]`).count(), 0);
  const ask = petrPage.page.locator('[data-testid="request-access"]');
  await ask.waitFor();
  assert.ok(await ask.isEnabled(), 'the request button can be used');
  await screenshot(petrPage.page, 'phone-profile-private');
  await petrPage.page.locator('textarea[name="message"]').fill('We met at the exhibition');
  await ask.click();
  await petrPage.page.locator('[data-testid="request-pending"]').waitFor();

  // Olga, at her desktop, sees the request arrive in her open inbox and approves it.
  const olgaPage = await openPage(browser, { maxInitData: signInitData(olga) });
  await olgaPage.page.goto(page('/requests'));
  const request = olgaPage.page.locator('[data-testid="profile-request"][data-state="pending"]');
  await request.waitFor({ timeout: 10_000 });
  assert.match(await request.textContent(), /Petr/);
  assert.match(await request.textContent(), /We met at the exhibition/);
  await screenshot(olgaPage.page, 'desktop-requests');
  await request.locator('[data-testid="approve-request"]').click();
  await olgaPage.page.locator('[data-testid="profile-request"][data-state="approved"]').waitFor();

  // Petr's page shows her collection by itself: the photo is there, decoded, with a size.
  await petrPage.page.locator('[data-testid="access-granted"]').waitFor({ timeout: 10_000 });
  await petrPage.page.locator('[data-testid="profile-collection"]').waitFor();
  await expectImagesShown(petrPage.page, `[data-testid="profile-collection"] img[alt="Night train"]`);
  assert.equal(
    await petrPage.page.locator('[data-testid="profile-bio"]').textContent(),
    'Night trains and harbours',
  );
  await screenshot(petrPage.page, 'phone-profile-granted');

  // Olga takes access back in settings; his page closes again, still without a reload.
  await olgaPage.page.goto(page('/settings'));
  const access = olgaPage.page.locator('[data-testid="access-list"]');
  await access.locator('[data-testid="profile-request"][data-state="approved"]', { hasText: 'Petr' }).waitFor();
  await screenshot(olgaPage.page, 'desktop-settings-access');
  await access.locator('[data-testid="revoke-access"]').click();
  await access.locator('[data-testid="no-requests"]').waitFor();
  await restricted.waitFor({ timeout: 10_000 });
  assert.equal(await petrPage.page.locator('[data-testid="profile-collection"]').count(), 0);
  await petrPage.page.locator('[data-testid="request-cooling-off"]').waitFor();

  // The photo itself is gone for him too.
  const hidden = await fetch(new URL(`/api/photos/${photo.id}`, baseUrl));
  assert.equal(hidden.status, 404);
  assert.deepEqual(petrPage.problems.filter((problem) => !problem.includes('status of 404')), []);
  assert.deepEqual(olgaPage.problems, []);
  await petrPage.context.close();
  await olgaPage.context.close();
});

test('names link to profiles, and a public profile shows its counts and both tabs', async () => {
  const vera = { userId: 94011, firstName: 'Vera', username: 'vera_public' };
  const veraApi = await apiSignIn(vera);
  const photo = await apiUpload(veraApi, 12, 'Quiet river');
  const { context, page: viewer, problems } = await openPage(browser);
  await viewer.goto(page(`/photos/${photo.id}`));
  await viewer.locator('[data-testid="photo-owner"] a', { hasText: 'Vera' }).click();
  await viewer.waitForURL(/\/users\/vera_public$/);
  const counts = viewer.locator('[data-testid="profile-counts"]');
  await counts.waitFor();
  assert.match(await counts.textContent(), /1 owned/);
  await expectImagesShown(viewer, '[data-testid="profile-collection"] img[alt="Quiet river"]');
  await viewer.locator('[data-testid="tab-created"]').click();
  await expectImagesShown(viewer, '[data-testid="profile-collection"] img[alt="Quiet river"]');
  await screenshot(viewer, 'desktop-profile-public');
  await viewer.goto(page('/users/nobody_at_all'));
  await viewer.locator('[data-testid="user-not-found"]').waitFor();
  assert.deepEqual(problems.filter((problem) => !problem.includes('status of 404')), []);
  await context.close();
});
