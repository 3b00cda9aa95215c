// examples/guestbook in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core, against the app served by the real `tsgi` CLI with validate() on. A person's path:
// a form with a mistake, then right; an upload through the file input, listed and downloaded; a
// reload that remembers the name; an upload over the limit; a page that does not exist.
//
// Skips (never fails) where Chromium or playwright-core is missing. TSGI_CHROMIUM names another binary.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { problems, startGuestbook, type Guestbook } from './guestbook-server.js';

const CHROMIUM = process.env.TSGI_CHROMIUM || '/usr/bin/chromium';
// The flags of a throwaway, offline browser: no sandbox (root in CI), no GPU, no calls home.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

type Playwright = typeof import('playwright-core');
let playwright: Playwright | null = null;
let skip: string | false = false;
if (!existsSync(CHROMIUM)) skip = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
else {
  try {
    playwright = await import('playwright-core');
  } catch (err) {
    skip = `playwright-core is not installed (${(err as Error).message.split('\n')[0]})`;
  }
}

const MAX_UPLOAD = 256 * 1024;

test('the guestbook in Chromium: form, errors, upload and download, session across reloads, 413, 404', { skip, timeout: 60000 }, async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'tsgi-guestbook-browser-'));
  let gb: Guestbook | undefined;
  let browser: Awaited<ReturnType<Playwright['chromium']['launch']>> | undefined;
  try {
    gb = await startGuestbook({ GUESTBOOK_MAX_UPLOAD: String(MAX_UPLOAD) });
    // playwright gives the browser a new, empty profile (user-data-dir) of its own, removed on close().
    browser = await playwright!.chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 20000 });
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    page.setDefaultTimeout(10000); // every wait below is bounded by this
    page.setDefaultNavigationTimeout(10000);

    // The front page.
    let res = await page.goto(`${gb.url}/`);
    assert.equal(res?.status(), 200);
    assert.equal(await page.textContent('h2'), 'No entries yet');
    assert.match((await page.textContent('#storage')) ?? '', /stored in (SQLite through node:sqlite|a JSON file)/);

    // A name of spaces passes the browser's `required` but not the server: the errors come back with the text kept.
    await page.fill('input[name=name]', '   ');
    await page.fill('textarea[name=message]', 'Hello from Chromium');
    [res] = await Promise.all([page.waitForNavigation(), page.click('#sign button')]);
    assert.equal(res?.status(), 422);
    assert.equal(await page.textContent('#errors'), 'Please give your name.');
    assert.equal(await page.inputValue('textarea[name=message]'), 'Hello from Chromium');

    // Now right: POST, 303, GET; the entry, the flash, the greeting. The name holds markup, shown as text.
    const name = 'Zoë <b>bold</b>';
    await page.fill('input[name=name]', name);
    await page.fill('textarea[name=message]', 'Hello\nfrom Chromium');
    [res] = await Promise.all([page.waitForNavigation(), page.click('#sign button')]);
    assert.equal(res?.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/');
    assert.equal(res?.request().redirectedFrom()?.method(), 'POST', 'the form answered with a redirect (POST/redirect/GET)');
    assert.equal(await page.textContent('.flash'), `Thank you for signing, ${name}!`);
    assert.equal(await page.textContent('.entry-name'), name);
    assert.equal(await page.locator('.entry b').count(), 0, 'no markup from the visitor');
    assert.equal(await page.textContent('.entry-message'), 'Hello\nfrom Chromium');
    assert.equal(await page.textContent('#greeting'), `Hello again, ${name}!`);

    // A reload: the flash was shown once, the session remembers the name and fills it in.
    res = await page.reload();
    assert.equal(res?.status(), 200);
    assert.equal(await page.locator('.flash').count(), 0);
    assert.equal(await page.textContent('#greeting'), `Hello again, ${name}!`);
    assert.equal(await page.inputValue('input[name=name]'), name);
    const [session] = await context.cookies();
    assert.equal(session?.name, 'guestbook_session');
    assert.equal(session?.httpOnly, true);
    assert.equal(session?.sameSite, 'Lax');

    // An upload through the file input, from a file on disk.
    const bytes = randomBytes(150 * 1024);
    const file = path.join(tmp, 'notes ü.bin');
    await writeFile(file, bytes);
    await page.click('nav >> text=Files');
    assert.equal(new URL(page.url()).pathname, '/files/');
    await page.setInputFiles('input[type=file]', file);
    [res] = await Promise.all([page.waitForNavigation(), page.click('#upload button')]);
    assert.equal(res?.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/files/');
    assert.equal(await page.textContent('.flash'), 'Uploaded notes ü.bin (150.0 KiB).');
    const row = page.locator('tr.file').first();
    assert.equal(await row.locator('.file-name').textContent(), 'notes ü.bin');
    assert.equal(await row.locator('.file-size').getAttribute('data-bytes'), String(bytes.length));
    assert.match((await row.locator('.meta').textContent()) ?? '', /^Zoë <b>bold<\/b>, /);

    // The download: the browser's own, with the name from Content-Disposition, the same bytes.
    const [download] = await Promise.all([page.waitForEvent('download'), row.locator('.file-name').click()]);
    assert.equal(download.suggestedFilename(), 'notes ü.bin');
    const saved = await download.path();
    assert.ok((await readFile(saved)).equals(bytes), 'the downloaded file has the uploaded bytes');

    // An upload over the limit: the site's 413 page, in the browser, and the site goes on.
    const big = path.join(tmp, 'big.bin');
    await writeFile(big, randomBytes(MAX_UPLOAD + 200 * 1024));
    await page.setInputFiles('input[type=file]', big);
    [res] = await Promise.all([page.waitForNavigation(), page.click('#upload button')]);
    assert.equal(res?.status(), 413);
    assert.equal(await page.textContent('#error-title'), '413 Content Too Large');
    assert.match((await page.textContent('#error-text')) ?? '', /Uploads are limited to 256\.0 KiB\./);

    // A page that does not exist: the site's own 404, with the session still there.
    res = await page.goto(`${gb.url}/no/such/page`);
    assert.equal(res?.status(), 404);
    assert.equal(await page.textContent('#error-title'), '404 Not Found');
    assert.equal(await page.textContent('#greeting'), `Hello again, ${name}!`);
    await page.click('text=Back to the guestbook');
    assert.equal(await page.locator('.entry').count(), 1);

    await context.close();
    assert.deepEqual(problems(gb.cli.stderr()), [], 'no validate() warning or error in the server log');
  } finally {
    await browser?.close();
    await gb?.remove();
    await rm(tmp, { recursive: true, force: true });
  }
});
