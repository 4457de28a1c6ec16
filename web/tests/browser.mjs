// Starting Debian's Chromium for the browser tests, and collecting what a page complains about.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';

import { chromium } from 'playwright-core';

import { PNG } from './png.mjs';

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

// The Max bridge script the app loads from Max's CDN (unreachable here). Outside Max it
// defines no initData; "inside Max" it hands over `initData`, as Max's own bridge does.
export const MAX_BRIDGE = 'https://st.max.ru/js/max-web-app.js';
// The stand-in bridge records what the app asks of Max (haptics, brightness, sharing, the back
// button, closing confirmation, links) in `window.__max`, keeps DeviceStorage and
// SecureStorage in the page's localStorage (so they outlive a relaunch, as Max's do), presses
// the back button on `window.__maxPressBack()`, and its code reader answers `codeReaderValue`.
function bridgeScript(initData, codeReaderValue) {
  if (!initData) return '/* a browser outside Max: no WebApp */';
  return `
    window.__max = { haptics: [], brightness: [], shared: [], backButton: [], closing: [], links: [], stored: [] };
    const backHandlers = [];
    window.__maxPressBack = () => backHandlers.forEach((handler) => handler());
    const storage = (kind) => ({
      setItem(key, value) {
        localStorage.setItem('__max_' + kind + '_' + key, value);
        window.__max.stored.push(kind + ':' + key);
        return Promise.resolve({ key });
      },
      getItem(key) { return Promise.resolve({ key, value: localStorage.getItem('__max_' + kind + '_' + key) }); },
      removeItem(key) { localStorage.removeItem('__max_' + kind + '_' + key); return Promise.resolve({ key }); },
    });
    window.WebApp = {
      initData: ${JSON.stringify(initData)},
      platform: 'ios',
      ready() { window.__maxReady = true; },
      BackButton: {
        isVisible: false,
        show() { this.isVisible = true; window.__max.backButton.push('show'); },
        hide() { this.isVisible = false; window.__max.backButton.push('hide'); },
        onClick(handler) { backHandlers.push(handler); },
        offClick(handler) { const at = backHandlers.indexOf(handler); if (at >= 0) backHandlers.splice(at, 1); },
      },
      enableClosingConfirmation() { window.__max.closing.push('on'); },
      disableClosingConfirmation() { window.__max.closing.push('off'); },
      openLink(url) { window.__max.links.push(['web', url]); },
      openMaxLink(url) { window.__max.links.push(['max', url]); },
      SecureStorage: storage('secure'),
      DeviceStorage: storage('device'),
      HapticFeedback: {
        notificationOccurred(type) { window.__max.haptics.push(type); return Promise.resolve({ status: 'notificationOccured' }); },
        impactOccurred(style) { window.__max.haptics.push('impact:' + style); return Promise.resolve({ status: 'impactOccured' }); },
        selectionChanged() { window.__max.haptics.push('selection'); return Promise.resolve({ status: 'selectionChanged' }); },
      },
      requestScreenMaxBrightness() { window.__max.brightness.push('max'); return Promise.resolve({ maxBrightness: true }); },
      restoreScreenBrightness() { window.__max.brightness.push('restore'); return Promise.resolve({ maxBrightness: false }); },
      shareMaxContent(content) { window.__max.shared.push(content); return Promise.resolve({ status: 'shared' }); },
      openCodeReader() {
        const value = ${JSON.stringify(codeReaderValue ?? null)};
        return value === null
          ? Promise.reject({ error: { code: 'client.open_code_reader.cancelled' } })
          : Promise.resolve({ value });
      },
    };`;
}

// Opens a page that records console errors, uncaught exceptions and failed requests.
// With `maxInitData`, the page runs as the Max mini-app signed in with it.
// `colorScheme` is the system's light or dark; `bypassCSP` lets a test inject its own tools
// (axe-core) into the page.
export async function openPage(
  browser,
  {
    width = 1280, height = 800, locale = 'en-US', maxInitData, codeReaderValue, colorScheme = 'light', bypassCSP = false,
  } = {},
) {
  const context = await browser.newContext({ viewport: { width, height }, locale, colorScheme, bypassCSP });
  await context.route(MAX_BRIDGE, (route) =>
    route.fulfill({ contentType: 'application/javascript', body: bridgeScript(maxInitData, codeReaderValue) }),
  );
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`exception: ${error.message}`));
  page.on('requestfailed', (request) => {
    // Aborted on purpose: by leaving a page, or by the app cancelling a long wait.
    if (request.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  return { context, page, problems };
}

// Saves a screenshot for people to look at (not compared).
export async function screenshot(page, name) {
  await page.screenshot({ path: new URL(`./screenshots/${name}.png`, import.meta.url).pathname, fullPage: true });
}

// Signs initData for a Max user with the server's own CLI (`gallery sign-init-data`).
export function signInitData({ userId, firstName, username, startParam, language = 'en' }) {
  const args = ['sign-init-data', '--user-id', String(userId), '--first-name', firstName, '--language', language];
  if (username) args.push('--username', username);
  if (startParam) args.push('--start-param', startParam);
  return execFileSync(process.env.GALLERY_BIN, args, { encoding: 'utf8' }).trim();
}

// A proxy in front of the server whose uplink is slow: it reads each request body at
// `bytesPerSecond`, so the browser's upload really takes its time (Chromium's own network
// throttling does not slow uploads down). Everything else, WebSocket upgrades included, passes
// straight through, with the Host header the browser sent. Returns its URL and a way to close it.
export async function startSlowUplink(bytesPerSecond) {
  const target = new URL(baseUrl);
  // Every request to the server, so that closing the uplink ends them all: one left open (a
  // page's request cut off when its browser went) would keep this process alive.
  const upstreams = new Set();
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((request, response) => {
    const upstream = http.request({
      host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers,
      agent,
    }, (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    upstreams.add(upstream);
    upstream.on('close', () => upstreams.delete(upstream));
    upstream.on('error', () => response.destroy());
    // The browser's side gone before the answer is through: the server's side goes too.
    response.on('close', () => upstream.destroy());
    request.on('data', (chunk) => {
      request.pause();
      upstream.write(chunk);
      setTimeout(() => request.resume(), (chunk.length / bytesPerSecond) * 1000);
    });
    request.on('end', () => upstream.end());
  });
  const tunnels = new Set();
  server.on('upgrade', (request, socket, head) => {
    tunnels.add(socket);
    const upstream = net.connect(Number(target.port), target.hostname, () => {
      const headers = Object.entries(request.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      upstream.write(`${request.method} ${request.url} HTTP/1.1\r\n${headers}\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    const close = () => { socket.destroy(); upstream.destroy(); };
    upstream.on('error', close);
    socket.on('error', close);
    // Either end gone, the tunnel goes.
    upstream.on('close', close);
    socket.on('close', () => {
      tunnels.delete(socket);
      close();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => {
      for (const socket of tunnels) socket.destroy();
      for (const upstream of upstreams) upstream.destroy();
      agent.destroy();
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

// Asserts that what a person should see of the images matching `selector` is there: at least
// `atLeast` of them, each decoded (its pixels arrived and are valid), laid out in a box of at
// least 8×8 px, and not hidden (opacity, visibility). Waits up to `timeout` for it, since
// images arrive and fade in after the page renders.
export async function expectImagesShown(page, selector, { atLeast = 1, timeout = 10_000 } = {}) {
  const deadline = Date.now() + timeout;
  let images = [];
  for (;;) {
    images = await page.locator(selector).evaluateAll((elements) => Promise.all(elements.map(async (image) => {
      const decoded = await image.decode().then(() => image.naturalWidth > 0, () => false);
      const box = image.getBoundingClientRect();
      const style = getComputedStyle(image);
      return {
        src: image.currentSrc || image.src,
        decoded,
        width: Math.round(box.width),
        height: Math.round(box.height),
        opacity: Number(style.opacity),
        visibility: style.visibility,
      };
    })));
    const shown = (image) => image.decoded && image.width >= 8 && image.height >= 8
      && image.opacity > 0.9 && image.visibility === 'visible';
    if (images.length >= atLeast && images.every(shown)) return images;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`images ${selector} are not all shown: ${JSON.stringify(images)}`);
}

// Signs a Max user in over the API (as the mini-app does); returns what calls need.
export async function apiSignIn({ userId, firstName, username }) {
  const response = await fetch(new URL('/api/auth/max', baseUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ init_data: signInitData({ userId, firstName, username }) }),
  });
  if (!response.ok) throw new Error(`sign-in: ${response.status} ${await response.text()}`);
  const tokens = await response.json();
  return { token: tokens.access_token, id: tokens.user.id };
}

// Uploads a small generated PNG (distinct for each `seed`) as `user`; returns the photo.
export async function apiUpload(user, seed, title) {
  const form = new FormData();
  form.append('file', new Blob([PNG.gradient(48, 32, seed)], { type: 'image/png' }), 'photo.png');
  form.append('title', title);
  const response = await fetch(new URL('/api/photos', baseUrl), {
    method: 'POST',
    headers: { Authorization: `Bearer ${user.token}` },
    body: form,
  });
  if (response.status !== 201) throw new Error(`upload: ${response.status} ${await response.text()}`);
  return response.json();
}
