// Ownership as people use it: a trade offered in one browser and accepted in another, both
// seeing the new owners without reloading; a claim link handed over by QR code and claimed
// through Max's code reader; the history and provenance pages.
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

test('a trade offered in one browser and accepted in another moves both objects, live', async () => {
  const anna = { userId: 93001, firstName: 'Anna', username: 'anna_trades' };
  const boris = { userId: 93002, firstName: 'Boris', username: 'boris_trades' };
  const annaApi = await apiSignIn(anna);
  const borisApi = await apiSignIn(boris);
  const annas = await apiUpload(annaApi, 1, 'Anna’s harbour');
  const boriss = await apiUpload(borisApi, 2, 'Boris’s forest');

  const annaPage = await openPage(browser, { maxInitData: signInitData(anna) });
  const borisPage = await openPage(browser, { width: 390, height: 844, maxInitData: signInitData(boris) });
  // Boris watches his incoming offers, and (in another tab) the provenance of Anna's object.
  await borisPage.page.goto(page('/trades'));
  await borisPage.page.locator('[data-testid="no-offers"]').waitFor();
  const borisProvenance = await borisPage.context.newPage();
  await borisProvenance.goto(page(`/objects/${annas.object_id}`));
  await borisProvenance.locator('[data-testid="provenance-owner"]', { hasText: 'Anna' }).waitFor();
  await expectImagesShown(borisProvenance, '[data-testid="provenance"] img');

  // Anna proposes from Boris's photo: his object is asked for already; she adds hers.
  await annaPage.page.goto(page(`/photos/${boriss.id}`));
  await annaPage.page.locator('[data-testid="propose-trade"]').click();
  const builder = annaPage.page.locator('[data-testid="offer-builder"]');
  await builder.waitFor();
  const asked = builder.locator(`[data-testid="their-objects"] [data-object-id="${boriss.object_id}"]`);
  assert.equal(await asked.getAttribute('aria-pressed'), 'true', 'the photo she came from is asked for');
  await builder.locator(`[data-testid="my-objects"] [data-object-id="${annas.object_id}"]`).click();
  await expectImagesShown(annaPage.page, '[data-testid="offer-builder"] img', { atLeast: 2 });
  await screenshot(annaPage.page, 'desktop-offer-builder');
  await builder.locator('[data-testid="send-offer"]').click();
  await builder.waitFor({ state: 'detached' });

  // The offer reaches Boris's open inbox by itself.
  const offer = borisPage.page.locator('[data-testid="offer"][data-state="pending"]');
  await offer.waitFor({ timeout: 10_000 });
  await expectImagesShown(borisPage.page, '[data-testid="offer"] img', { atLeast: 2 });
  await screenshot(borisPage.page, 'phone-trades');

  // Anna watches Boris's photo while he accepts.
  await annaPage.page.goto(page(`/photos/${boriss.id}`));
  await annaPage.page.locator('[data-testid="photo-owner"]', { hasText: 'Boris' }).waitFor();
  await offer.locator('[data-testid="accept-offer"]').click();
  await annaPage.page.locator('[data-testid="photo-owner"]', { hasText: 'Anna' }).waitFor({ timeout: 10_000 });
  await borisProvenance.locator('[data-testid="provenance-owner"]', { hasText: 'Boris' }).waitFor({ timeout: 10_000 });
  // The history on both pages grew by the trade, and the chain verifies.
  await annaPage.page.locator('[data-testid="history"] li[data-kind="trade"]').waitFor();
  await borisProvenance.locator('[data-testid="history"] li[data-kind="trade"]').waitFor();
  await borisProvenance.locator('[data-testid="chain-verified"]').waitFor();
  assert.deepEqual(await borisPage.page.evaluate(() => window.__max.haptics), ['success']);
  await screenshot(borisProvenance, 'phone-provenance');
  await screenshot(annaPage.page, 'desktop-photo-history');

  assert.deepEqual(annaPage.problems, []);
  assert.deepEqual(borisPage.problems, []);
  await annaPage.context.close();
  await borisPage.context.close();
});

test('a claim link shown as a QR code is claimed through Max\'s code reader', async () => {
  const vera = { userId: 93011, firstName: 'Vera', username: 'vera_hands' };
  const gleb = { userId: 93012, firstName: 'Gleb', username: 'gleb_scans' };
  const veraApi = await apiSignIn(vera);
  const photo = await apiUpload(veraApi, 3, 'Vera’s lighthouse');

  // Vera makes a link on her photo's page: a QR code, brightened inside Max.
  const veraPage = await openPage(browser, { width: 390, height: 844, maxInitData: signInitData(vera) });
  await veraPage.page.goto(page(`/photos/${photo.id}`));
  await veraPage.page.locator('[data-testid="make-claim-link"]').click();
  await expectImagesShown(veraPage.page, '[data-testid="claim-qr"]');
  const link = await veraPage.page.locator('[data-testid="claim-url"]').inputValue();
  assert.match(link, /^https:\/\/max\.ru\/[A-Za-z0-9_]+\?startapp=claim_[A-Za-z0-9_-]+$/);
  assert.deepEqual(await veraPage.page.evaluate(() => window.__max.brightness), ['max']);
  await veraPage.page.locator('[data-testid="share-link"]').click();
  await veraPage.page.locator('[data-testid="hand-over"] .ok').waitFor();
  const shared = await veraPage.page.evaluate(() => window.__max.shared);
  assert.equal(shared[0].link, link, 'sent into a Max chat');
  await screenshot(veraPage.page, 'phone-hand-over');

  // Gleb scans it with Max's reader, sees what it gives, and claims it.
  const glebPage = await openPage(browser, { maxInitData: signInitData(gleb), codeReaderValue: link });
  await glebPage.page.goto(page('/scan'));
  await glebPage.page.locator('[data-testid="scan"]').click();
  await glebPage.page.locator('[data-testid="claim-preview"]').waitFor();
  await expectImagesShown(glebPage.page, '[data-testid="claim-preview"] img');
  await screenshot(glebPage.page, 'desktop-claim');
  await glebPage.page.locator('[data-testid="claim"]').click();
  await glebPage.page.locator('[data-testid="claimed"]').waitFor();
  assert.deepEqual(await glebPage.page.evaluate(() => window.__max.haptics), ['success', 'success']);

  // Vera's page follows: the object is Gleb's now.
  await veraPage.page.locator('[data-testid="photo-owner"]', { hasText: 'Gleb' }).waitFor({ timeout: 10_000 });
  // A second claim of the same link is refused with words, not a crash.
  await glebPage.page.goto(page(new URL(link).searchParams.get('startapp').replace('claim_', '/claim/')));
  await glebPage.page.locator('[data-testid="claim-unavailable"]').waitFor();

  assert.deepEqual(veraPage.problems, []);
  assert.deepEqual(
    glebPage.problems.filter((problem) => !problem.includes('status of 410')),
    [],
    "only the used link's 410",
  );
  await veraPage.context.close();
  await glebPage.context.close();
});

test('the scanner opens what a pasted link points to, and says when it is not ours', async () => {
  const { context, page: scanner, problems } = await openPage(browser, { width: 390, height: 844 });
  await scanner.goto(page('/scan'));
  const field = scanner.locator('[data-testid="paste-link"] input');
  await field.fill('https://example.com/not/ours');
  await scanner.locator('[data-testid="paste-link"] button').click();
  await scanner.locator('[data-testid="scan-unknown"]').waitFor();
  await screenshot(scanner, 'phone-scanner');
  await field.fill(page('/objects/999999'));
  await scanner.locator('[data-testid="paste-link"] button').click();
  await scanner.locator('[data-page="provenance"]').waitFor();
  assert.deepEqual(problems.filter((problem) => !problem.includes('status of 404')), []);
  await context.close();
});

test('the QR decoder worker reads a code the server drew', async () => {
  const { context, page: scanner, problems } = await openPage(browser);
  await scanner.goto(page('/scan'));
  const link = 'https://max.ru/gallery_bot?startapp=claim_W0rker-Test';
  // What the camera path does with a frame: greyscale pixels to the worker, text back.
  const read = await scanner.evaluate(async (link) => {
    const image = new Image();
    image.src = `/api/qr-code?url=${encodeURIComponent(link)}`;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = 320;
    canvas.height = 320;
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff';
    context.fillRect(0, 0, 320, 320);
    context.drawImage(image, 0, 0, 320, 320);
    const rgba = context.getImageData(0, 0, 320, 320).data;
    const luma = new Uint8Array(320 * 320);
    for (let i = 0; i < luma.length; i += 1) {
      luma[i] = (rgba[i * 4] * 3 + rgba[i * 4 + 1] * 6 + rgba[i * 4 + 2]) / 10;
    }
    const worker = new Worker('/scanner_worker_loader.js');
    const nextMessage = () => new Promise((resolve, reject) => {
      worker.onmessage = (message) => resolve(message.data);
      worker.onerror = (error) => reject(new Error(`the worker failed: ${error.message}`));
      setTimeout(() => reject(new Error('the worker did not answer in 10 s')), 10_000);
    });
    // It says when it listens; a frame sent earlier would be lost.
    const ready = await nextMessage();
    if (ready !== true) throw new Error(`the worker's first message is ${ready}`);
    const answer = nextMessage();
    worker.postMessage({ width: 320, height: 320, luma });
    const text = await answer;
    worker.terminate();
    return text;
  }, link);
  assert.equal(read, link);
  assert.deepEqual(problems, []);
  await context.close();
});
