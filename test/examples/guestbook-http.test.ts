// examples/guestbook over real HTTP without a browser: node:http requests on one keep-alive agent (so the
// connection reuse a browser relies on is checked too), multipart bodies made by FormData, the session
// cookie carried by hand. Always runs (the browser test may skip). validate() is on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadSqlite } from '../../examples/guestbook/store.js';
import { problems, startGuestbook, type Guestbook } from './guestbook-server.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  socket: Socket;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const sockets = new Set<Socket>();
let gb: Guestbook;
let cookie = ''; // the session cookie, as a browser would keep it

function send(method: string, path: string, { headers = {}, body }: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { ...headers };
    if (cookie !== '' && h.Cookie === undefined) h.Cookie = cookie;
    if (body !== undefined) h['Content-Length'] = String(body.length);
    const req = http.request(`${gb.url}${path}`, { method, headers: h, agent, timeout: 10000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        sockets.add(res.socket);
        // Keep the session cookie the way a browser does: a new value replaces it, an expired one deletes it.
        for (const line of res.headers['set-cookie'] ?? []) {
          const m = /^guestbook_session=([^;]*)/.exec(line);
          if (m) cookie = /Max-Age=0/i.test(line) ? '' : `guestbook_session=${m[1]}`;
        }
        resolve({ status: res.statusCode!, headers: res.headers, body: buf, text: buf.toString('utf8'), socket: res.socket });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A FormData body as bytes and its Content-Type (with the boundary), as fetch() would send it. */
async function multipart(form: FormData): Promise<{ body: Uint8Array; headers: Record<string, string> }> {
  const r = new Request('http://localhost/', { method: 'POST', body: form });
  return { body: new Uint8Array(await r.arrayBuffer()), headers: { 'Content-Type': r.headers.get('content-type')! } };
}

function urlencoded(fields: Record<string, string>): { body: Uint8Array; headers: Record<string, string> } {
  return { body: Buffer.from(new URLSearchParams(fields).toString()), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } };
}

const entryNames = (html: string) => [...html.matchAll(/<strong class="entry-name">([^<]*)<\/strong>/g)].map((m) => m[1]);
const MAX_UPLOAD = 256 * 1024;

describe('examples/guestbook over HTTP', { timeout: 60000 }, () => {
  before(async () => {
    gb = await startGuestbook({ GUESTBOOK_MAX_UPLOAD: String(MAX_UPLOAD) });
  });
  after(async () => {
    agent.destroy();
    await gb?.remove();
  });

  test('the front page is HTML with a CSP, and the footer names the store this Node has', async () => {
    const r = await send('GET', '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
    assert.match(r.text, /No entries yet/);
    assert.equal(r.headers['set-cookie'], undefined, 'no session until there is something to remember');
    const sqlite = (await loadSqlite()).sqlite !== null;
    assert.match(r.text, sqlite ? /stored in SQLite through node:sqlite/ : /stored in a JSON file, guestbook\.json \(node:sqlite is not available/);
  });

  test('signing: 303 to the front page, a signed session cookie, the entry escaped, the flash shown once', async () => {
    const name = 'Zoë <script>alert(1)</script>';
    const r = await send('POST', '/', urlencoded({ name: `  ${name} `, message: 'line one\r\nline "two" & more' }));
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/');
    const set = r.headers['set-cookie']?.[0] ?? '';
    assert.match(set, /^guestbook_session=[\w-]+\.[\w-]+; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Lax$/);

    const page = await send('GET', '/');
    assert.equal(page.status, 200);
    assert.deepEqual(entryNames(page.text), ['Zoë &lt;script&gt;alert(1)&lt;/script&gt;']);
    assert.ok(!page.text.includes('<script>'), 'no markup from the visitor reaches the page');
    assert.match(page.text, /<p class="entry-message">line one\nline &quot;two&quot; &amp; more<\/p>/);
    assert.match(page.text, /<p class="flash ok" role="status">Thank you for signing, Zoë &lt;script&gt;/);
    assert.match(page.text, /<span id="greeting">Hello again, Zoë &lt;script&gt;alert\(1\)&lt;\/script&gt;!<\/span>/);
    assert.match(page.text, /name="name" value="Zoë &lt;script&gt;alert\(1\)&lt;\/script&gt;"/, 'the name is filled in');

    const again = await send('GET', '/');
    assert.doesNotMatch(again.text, /class="flash/, 'a flash is shown once');
    assert.match(again.text, /Hello again, Zoë/, 'the name is remembered');
  });

  test('an invalid form answers 422 with every error and what was typed, and stores nothing', async () => {
    const r = await send('POST', '/', urlencoded({ name: '   ', message: 'kept <text>' }));
    assert.equal(r.status, 422);
    assert.match(r.text, /<ul class="errors" id="errors"><li>Please give your name\.<\/li><\/ul>/);
    assert.match(r.text, /<textarea[^>]*>kept &lt;text&gt;<\/textarea>/);
    const long = await send('POST', '/', urlencoded({ name: 'x'.repeat(61), message: '' }));
    assert.equal(long.status, 422);
    assert.match(long.text, /<li>Your name can have at most 60 characters\.<\/li><li>Please write a message\.<\/li>/);
    assert.equal(entryNames((await send('GET', '/')).text).length, 1);
  });

  test('a session cookie that was changed or forged is ignored', async () => {
    const [value] = cookie.split('=').slice(1);
    const [body, sig] = value!.split('.');
    const forgedName = Buffer.from(JSON.stringify({ name: 'Mallory', exp: 4102444800 })).toString('base64url');
    for (const bad of [`${forgedName}.${sig}`, `${body}.${sig!.slice(0, -2)}AA`, `${body}`, 'garbage', `${forgedName}.`]) {
      const r = await send('GET', '/', { headers: { Cookie: `guestbook_session=${bad}` } });
      assert.equal(r.status, 200);
      assert.doesNotMatch(r.text, /id="greeting"/, `cookie ${bad} was taken`);
    }
    assert.match((await send('GET', '/')).text, /id="greeting"/, 'the real cookie still works');
  });

  let downloadPath = '';
  const upload = randomBytes(200 * 1024); // above 500 KiB would spool to disk; both paths are the wrapper's

  test('an upload (multipart from FormData) is listed with its name and size, and downloads byte for byte', async () => {
    const form = new FormData();
    form.append('file', new Blob([upload], { type: 'application/x-test' }), 'données 1.bin');
    const r = await send('POST', '/files/', await multipart(form));
    assert.equal(r.status, 303, r.text);
    assert.equal(r.headers.location, '/files/');
    const list = await send('GET', '/files/');
    assert.match(list.text, /<p class="flash ok" role="status">Uploaded données 1\.bin \(200\.0 KiB\)\.<\/p>/);
    const row = /<a class="file-name" href="([^"]+)" download>données 1\.bin<\/a><\/td>\s*<td class="file-size" data-bytes="(\d+)"/.exec(list.text);
    assert.ok(row, list.text);
    assert.equal(row[1], '/files/1');
    assert.equal(Number(row[2]), upload.length);
    assert.match(list.text, /<td class="meta">Zoë &lt;script&gt;/, 'the uploader is the session name');
    downloadPath = row[1]!;

    const d = await send('GET', downloadPath);
    assert.equal(d.status, 200);
    assert.ok(d.body.equals(upload), 'the same bytes come back');
    assert.equal(d.headers['content-type'], 'application/x-test');
    assert.equal(d.headers['content-length'], String(upload.length));
    assert.equal(d.headers['content-disposition'], `attachment; filename="donn_es 1.bin"; filename*=UTF-8''donn%C3%A9es%201.bin`);
    assert.equal(d.headers['x-content-type-options'], 'nosniff');

    const head = await send('HEAD', downloadPath);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(upload.length));
    assert.equal(head.body.length, 0);
    const etag = d.headers.etag!;
    assert.equal((await send('GET', downloadPath, { headers: { 'If-None-Match': etag } })).status, 304);
  });

  test('an upload form without a file answers 422', async () => {
    const form = new FormData();
    form.append('file', new Blob([]), ''); // what a browser sends when no file was chosen
    const r = await send('POST', '/files/', await multipart(form));
    assert.equal(r.status, 422);
    assert.match(r.text, /<li>Please choose a file to upload\.<\/li>/);
  });

  test("404, 405 and the strict-slash redirect, on the site's own pages (JSON when asked)", async () => {
    const missing = await send('GET', '/no/such/page');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(missing.text, /<h1 id="error-title">404 Not Found<\/h1>/);
    assert.match(missing.text, /Hello again, Zoë/, 'error pages keep the layout and the session');
    const json = await send('GET', '/no/such/page', { headers: { Accept: 'application/json' } });
    assert.equal(json.status, 404);
    assert.equal((JSON.parse(json.text) as { code: number }).code, 404);
    const noFile = await send('GET', '/files/999');
    assert.equal(noFile.status, 404);
    assert.match(noFile.text, /There is no page at this address\. No file number 999\./);
    const notInt = await send('GET', '/files/abc');
    assert.equal(notInt.status, 404);

    const wrong = await send('DELETE', '/');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'GET, HEAD, OPTIONS, POST');
    assert.match(wrong.text, /405 Method Not Allowed/);
    const options = await send('OPTIONS', '/files/');
    assert.equal(options.status, 200);
    assert.equal(options.headers.allow, 'GET, HEAD, OPTIONS, POST');

    const slash = await send('GET', '/files');
    assert.equal(slash.status, 308);
    assert.equal(slash.headers.location, '/files/');
  });

  test('every request so far went over one keep-alive connection', () => {
    assert.equal(sockets.size, 1);
  });

  test('413 for an upload over the limit (by Content-Length, and by the file while it streams), and the server goes on', async () => {
    const big = new FormData();
    big.append('file', new Blob([randomBytes(MAX_UPLOAD + 128 * 1024)]), 'big.bin'); // over maxContentLength
    const r = await send('POST', '/files/', await multipart(big));
    assert.equal(r.status, 413);
    assert.match(r.text, /<h1 id="error-title">413 Content Too Large<\/h1>/);
    assert.match(r.text, /Uploads are limited to 256\.0 KiB\./);

    const justOver = new FormData();
    justOver.append('file', new Blob([randomBytes(MAX_UPLOAD + 1)]), 'just-over.bin'); // body within maxContentLength
    const r2 = await send('POST', '/files/', await multipart(justOver));
    assert.equal(r2.status, 413);

    const atLimit = new FormData();
    atLimit.append('file', new Blob([randomBytes(MAX_UPLOAD)]), 'at-limit.bin');
    assert.equal((await send('POST', '/files/', await multipart(atLimit))).status, 303);
    const list = (await send('GET', '/files/')).text;
    assert.match(list, /at-limit\.bin/);
    assert.doesNotMatch(list, /big\.bin|just-over\.bin/, 'a refused upload leaves nothing behind');
  });

  test('forgetting the name, and data and sessions surviving a restart (the dev key is kept in the data directory)', async () => {
    const kept = cookie;
    const r = await send('POST', '/forget');
    assert.equal(r.status, 303);
    const page = await send('GET', '/');
    assert.match(page.text, /Your name is forgotten\./);
    assert.doesNotMatch(page.text, /id="greeting"/);
    assert.equal(cookie, '', 'the emptied session deletes its cookie');

    assert.equal(await gb.stop(), 0);
    assert.deepEqual(problems(gb.cli.stderr()), [], 'no validate() warning or error in the server log');
    agent.destroy();
    const restarted = await startGuestbook({ GUESTBOOK_MAX_UPLOAD: String(MAX_UPLOAD) }, gb.dataDir);
    const dataDir = gb.dataDir;
    gb = restarted;
    assert.equal(gb.dataDir, dataDir);
    cookie = kept;
    const back = await send('GET', '/');
    assert.deepEqual(entryNames(back.text), ['Zoë &lt;script&gt;alert(1)&lt;/script&gt;']);
    assert.match(back.text, /Hello again, Zoë/, 'a cookie signed before the restart still verifies');
    const d = await send('GET', downloadPath);
    assert.ok(d.body.equals(upload));
    assert.deepEqual(problems(gb.cli.stderr()), []);
  });
});
