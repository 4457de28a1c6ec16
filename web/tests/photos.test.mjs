// Photos as a person uses them: upload with a visible progress bar, see it in the gallery,
// favorite it, find it by search, and delete it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  baseUrl, expectImagesShown, launchBrowser, openPage, screenshot, signInitData, startSlowUplink,
} from './browser.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// A PNG of random noise (it does not compress: `size`² × 3 bytes), so that an upload takes
// long enough to watch.
async function makePng(page, size) {
  const dataUrl = await page.evaluate((size) => {
    const canvas = document.createElement('canvas');
    canvas.width = size;
    canvas.height = size;
    const context = canvas.getContext('2d');
    const pixels = context.createImageData(size, size);
    for (let start = 0; start < pixels.data.length; start += 65536) {
      crypto.getRandomValues(pixels.data.subarray(start, start + 65536));
    }
    for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = 255;
    context.putImageData(pixels, 0, 0);
    return canvas.toDataURL('image/png');
  }, size);
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

test('a photo goes up with a progress bar and can be found, favorited and deleted', async () => {
  const maxInitData = signInitData({ userId: 92001, firstName: 'Mira', username: 'mira_shots' });
  const { context, page, problems } = await openPage(browser, { width: 390, height: 844, maxInitData });
  // A slow uplink, so that the progress bar has something to show: about 5 s for the 6 MB
  // below, more than the few megabytes the sockets on the way can take in at once.
  const uplink = await startSlowUplink(1.2 * 1024 * 1024);
  try {
    await page.goto(new URL('/upload', uplink.url).href);
    await page.locator('[data-testid="upload-form"]').waitFor();

    const png = await makePng(page, 1400);
    await page.locator('input[type="file"]').setInputFiles({ name: 'sunset.png', mimeType: 'image/png', buffer: png });
    await expectImagesShown(page, '.upload-preview');
    await page.locator('input[name="title"]').fill('Sunset over the bay');
    await page.locator('input[name="tags"]').fill('sea, evening');

    // Record every value the progress bar shows.
    await page.evaluate(() => {
      window.__progress = [];
      new MutationObserver(() => {
        const bar = document.querySelector('[data-testid="upload-progress"]');
        if (bar) window.__progress.push(Number(bar.value));
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('[data-testid="upload-progress"]').waitFor();
    await screenshot(page, 'phone-upload-progress');

    // The photo's page follows.
    await page.locator('[data-testid="photo-title"]', { hasText: 'Sunset over the bay' }).waitFor();
    const seen = await page.evaluate(() => window.__progress);
    // The bar moved while the bytes went (values strictly between 0 and 100), and never back.
    assert.ok(seen.some((value) => value > 0 && value < 100), `the bar moved: ${seen}`);
    assert.ok(seen.every((value, i) => value >= 0 && value <= 100 && (i === 0 || value >= seen[i - 1])),
      `the bar only rose: ${seen}`);
    assert.match(new URL(page.url()).pathname, /^\/photos\/\d+$/);
    assert.equal(await page.locator('[data-testid="photo-owner"]').innerText(), 'Mira');
    // The photo itself, as a person sees it: decoded, in a box the width of the page.
    const [phoneViewer] = await expectImagesShown(page, '[data-testid="photo-viewer"] img');
    assert.ok(phoneViewer.width >= 300, `the photo fills a phone's width: ${JSON.stringify(phoneViewer)}`);
    await screenshot(page, 'phone-photo');
    await page.setViewportSize({ width: 1280, height: 800 });
    const [desktopViewer] = await expectImagesShown(page, '[data-testid="photo-viewer"] img');
    assert.ok(desktopViewer.height >= 400, `the photo is large on a desktop: ${JSON.stringify(desktopViewer)}`);
    await screenshot(page, 'desktop-photo');
    await page.setViewportSize({ width: 390, height: 844 });

    await page.locator('[data-testid="favorite"]').click();
    await page.locator('[data-testid="favorite"][aria-pressed="true"]', { hasText: '♥ 1' }).waitFor();
    // The gallery shows it, thumbnail loaded.
    await page.goto(baseUrl);
  } finally {
    await uplink.close();
  }
  const card = page.locator('[data-testid="photo-grid"] .photo-card', { hasText: 'Sunset over the bay' });
  await card.waitFor();
  await expectImagesShown(page, '[data-testid="photo-grid"] .photo-card img');
  await screenshot(page, 'phone-gallery');

  await page.goto(new URL('/search', baseUrl).href);
  await page.locator('input[name="q"]').fill('sunsets');
  await page.locator('[data-testid="photo-results"] .photo-card', { hasText: 'Sunset over the bay' }).waitFor();
  await expectImagesShown(page, '[data-testid="photo-results"] .photo-card img');

  await page.goto(new URL('/favorites', baseUrl).href);
  await page.locator('[data-page="favorites"] .photo-card', { hasText: 'Sunset over the bay' }).waitFor();
  await expectImagesShown(page, '[data-page="favorites"] .photo-card img');

  // Deleting it (after confirming) leaves the collection empty.
  await card.page().goto(new URL('/collection', baseUrl).href);
  await expectImagesShown(page, '[data-page="collection"] .photo-card img');
  await page.locator('[data-page="collection"] .photo-card').first().click();
  page.once('dialog', (dialog) => dialog.accept());
  await page.locator('[data-testid="delete-photo"]').click();
  await page.locator('[data-testid="empty-feed"]').waitFor();

  assert.deepEqual(problems, []);
  await context.close();
});

test('a file that is not an image gets a clear error', async () => {
  const maxInitData = signInitData({ userId: 92002, firstName: 'Ivan' });
  const { context, page, problems } = await openPage(browser, { maxInitData });
  await page.goto(new URL('/upload', baseUrl).href);
  await page.locator('[data-testid="upload-form"]').waitFor();
  await page.locator('input[type="file"]').setInputFiles({
    name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('these are not pixels'),
  });
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.locator('[data-testid="upload-error"]', { hasText: 'JPEG, PNG, GIF and WebP' }).waitFor();
  // The refused upload is the only complaint: the browser logs the 415 itself.
  assert.ok(problems.every((problem) => problem.includes('415')), problems.join('\n'));
  await context.close();
});
