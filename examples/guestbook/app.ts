// A guestbook with file uploads, built on tsgi's Werkzeug-style layer: tsgi/wrappers (Request,
// Response, handler), tsgi/routing (the URL map, matching and URL building) and tsgi/exceptions
// (404, 405, 413). Served by the tsgi CLI:
//
//   npm run build && node dist/cli/main.js examples/guestbook/app.ts --bind 127.0.0.1:8000
//
// Environment: GUESTBOOK_DATA (the data directory), GUESTBOOK_SECRET_KEY (the session signing key),
// GUESTBOOK_MAX_UPLOAD (bytes), GUESTBOOK_STORE=json (skip SQLite), TSGI_VALIDATE=1 (wrap the app in
// validate()). README.md beside this file says more.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Application } from 'tsgi';
import { HTTPException, NotFound, RequestRedirect, prefersJson } from 'tsgi/exceptions';
import { RouteMap, Rule } from 'tsgi/routing';
import { validate } from 'tsgi/validate';
import { Request, Response, handler } from 'tsgi/wrappers';
import { type Html } from './html.js';
import { errorPage, filesPage, formatSize, indexPage, type PageContext, type SignForm } from './pages.js';
import { Session, SessionCookie, loadKey } from './session.js';
import { openStore } from './store.js';

// --- configuration and start-up (once per worker process) ----------------------------------------

const dataDir = path.resolve(process.env.GUESTBOOK_DATA || fileURLToPath(new URL('./data/', import.meta.url)));
const filesDir = path.join(dataDir, 'files');
const maxUpload = Number(process.env.GUESTBOOK_MAX_UPLOAD || 2 ** 20);
if (!Number.isSafeInteger(maxUpload) || maxUpload <= 0)
  throw new RangeError(`GUESTBOOK_MAX_UPLOAD must be a positive number of bytes, not ${process.env.GUESTBOOK_MAX_UPLOAD}`);
await mkdir(filesDir, { recursive: true });

const store = await openStore(dataDir, process.env.GUESTBOOK_STORE === 'json' ? 'json' : 'sqlite');
const { key, source: keySource } = await loadKey(dataDir);
const sessions = new SessionCookie(key);
console.error(`guestbook: data in ${dataDir}; ${store.description}; sessions signed with ${keySource}`);

// --- routes ------------------------------------------------------------------------------------

// Werkzeug's way: a map of rules naming endpoints; each endpoint is a view below. GET and POST of one
// page are two endpoints, so links (GET) and forms (POST) are built by name and read as such.
const urls = new RouteMap([
  new Rule('/', { endpoint: 'index', methods: ['GET'] }),
  new Rule('/', { endpoint: 'sign', methods: ['POST'] }),
  new Rule('/files/', { endpoint: 'files', methods: ['GET'] }),
  new Rule('/files/', { endpoint: 'upload', methods: ['POST'] }),
  new Rule('/files/<int:id>', { endpoint: 'download', methods: ['GET'] }),
  new Rule('/forget', { endpoint: 'forget', methods: ['POST'] }),
]);

interface Context extends PageContext {
  request: Request;
  session: Session;
}

type View = (ctx: Context, args: Record<string, unknown>) => Response | Promise<Response>;

function page(body: Html, status = 200): Response {
  return new Response(body.markup, { status, contentType: 'text/html; charset=utf-8' });
}

// POST/redirect/GET: a form that worked answers 303 See Other, so reloading the page the browser lands
// on repeats a GET, never the POST.
function seeOther(ctx: Context, endpoint: string): Response {
  return Response.redirect(ctx.url(endpoint), 303);
}

/** The sign form's fields, trimmed, and what is wrong with them. */
function checkSignForm(name: string, message: string): SignForm {
  const errors: string[] = [];
  if (name === '') errors.push('Please give your name.');
  else if (name.length > 60) errors.push('Your name can have at most 60 characters.');
  if (message === '') errors.push('Please write a message.');
  else if (message.length > 1000) errors.push('A message can have at most 1000 characters.');
  return { name, message, errors };
}

const views: Record<string, View> = {
  async index(ctx) {
    return page(indexPage(ctx, await store.entries(), { name: ctx.visitor ?? '', message: '', errors: [] }));
  },

  async sign(ctx) {
    const form = await ctx.request.form();
    const checked = checkSignForm((form.get('name') ?? '').trim(), (form.get('message') ?? '').replace(/\r\n/g, '\n').trim());
    // Invalid: the same page again, with the errors and what was typed, as 422 (not a redirect:
    // there is nothing to reload).
    if (checked.errors.length > 0) return page(indexPage(ctx, await store.entries(), checked), 422);
    await store.addEntry(checked.name, checked.message);
    ctx.session.name = checked.name;
    ctx.session.flash(`Thank you for signing, ${checked.name}!`);
    return seeOther(ctx, 'index');
  },

  async files(ctx) {
    return page(filesPage(ctx, await store.files(), maxUpload));
  },

  async upload(ctx) {
    // Parsing the body is where a too-large upload is refused: 413 before reading anything when
    // Content-Length says so, or as soon as the file passes maxFileSize.
    const file = (await ctx.request.files()).get('file');
    if (file === undefined || file.filename === '') {
      return page(filesPage(ctx, await store.files(), maxUpload, ['Please choose a file to upload.']), 422);
    }
    // The visitor's file name is only displayed and sent back in Content-Disposition; on disk the
    // file is a UUID, so no name can reach outside files/.
    const storedAs = randomUUID();
    await file.saveTo(path.join(filesDir, storedAs));
    const filename = file.filename.replace(/[\x00-\x1f\x7f]/g, '').slice(0, 200) || 'unnamed';
    await store.addFile({
      filename,
      storedAs,
      size: file.size,
      contentType: file.mimetype || 'application/octet-stream',
      uploader: ctx.visitor ?? 'anonymous',
    });
    ctx.session.flash(`Uploaded ${filename} (${formatSize(file.size)}).`);
    return seeOther(ctx, 'files');
  },

  async download(_ctx, { id }) {
    const file = await store.file(id as number);
    if (file === undefined) throw new NotFound(`No file number ${id}.`);
    // An attachment, never shown inline, and nosniff: an uploaded .html cannot run as this site's page.
    return Response.file(path.join(filesDir, file.storedAs), {
      download: file.filename,
      contentType: file.contentType,
      headers: [['X-Content-Type-Options', 'nosniff']],
    });
  },

  async forget(ctx) {
    ctx.session.name = undefined;
    ctx.session.flash('Your name is forgotten.');
    return seeOther(ctx, 'index');
  },
};

// No script on any page, forms only to this site, no framing: escaping is the first defence, this the second.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const app: Application = handler(
  async (request) => {
    const adapter = urls.bindToEnviron(request.environ);
    const session = sessions.load(request);
    const ctx: Context = {
      request,
      session,
      url: (endpoint, values) => adapter.build(endpoint, values),
      get visitor() {
        return session.name;
      },
      flashes: [],
      storeDescription: store.description,
    };
    let response: Response;
    try {
      const match = adapter.match(); // NotFound, MethodNotAllowed (with Allow) or RequestRedirect
      if (request.method === 'OPTIONS' && match.rule.automaticOptions) {
        return new Response(null, { headers: [['Allow', adapter.allowedMethods().join(', ')]] });
      }
      // Messages are taken for the page only now, so a POST that redirects leaves them for the next GET.
      if (request.method === 'GET') ctx.flashes = session.popFlashes();
      response = await views[match.endpoint]!(ctx, match.args);
    } catch (err) {
      // Redirects, errors asked for as JSON, and anything not HTTP: as tsgi/exceptions and the server answer them.
      if (!(err instanceof HTTPException) || err instanceof RequestRedirect || prefersJson(request.headers.get('accept') ?? undefined)) throw err;
      const detail = err.code === 413 ? `Uploads are limited to ${formatSize(maxUpload)}.` : undefined;
      response = page(errorPage(ctx, err, detail), err.code);
      for (const [name, value] of err.headers) response.headers.addHeader(name, value);
    }
    if (response.headers.get('Content-Type')?.startsWith('text/html')) response.headers.set('Content-Security-Policy', CSP);
    sessions.save(session, request, response);
    return response;
  },
  {
    // The whole body may be the file plus a little for the multipart framing; the file itself is held
    // to maxUpload while it streams in. Uploads above 500 KiB spool to a temporary file.
    maxContentLength: maxUpload + 64 * 1024,
    maxFileSize: maxUpload,
  },
);

/** The application the CLI serves; checked against the TSGI rules (docs/validate.md) when TSGI_VALIDATE=1. */
export const application: Application = process.env.TSGI_VALIDATE === '1' ? validate(app) : app;
