// The pages, as functions from data to Html. Every value from a visitor goes through html``, which
// escapes it; the page's Content-Security-Policy (app.ts) allows no script at all, as a second line.
import type { HTTPException } from 'tsgi/exceptions';
import { html, type Html, type Value } from './html.js';
import type { Flash } from './session.js';
import type { Entry, StoredFile } from './store.js';

/** What every page needs: links, the visitor, the pending messages, the footer's store line. */
export interface PageContext {
  url(endpoint: string, values?: Record<string, unknown>): string;
  visitor: string | undefined;
  flashes: Flash[];
  storeDescription: string;
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  nav a { margin-right: 1rem; } nav form { display: inline; }
  .flash { padding: .5rem .75rem; border-radius: 4px; background: #e6f4ea; }
  .flash.error, .errors { background: #fde8e8; }
  .errors { padding: .5rem 2rem; border-radius: 4px; }
  label { display: block; margin-top: .75rem; } input[type=text], textarea { width: 100%; box-sizing: border-box; }
  .entry { border-bottom: 1px solid #ddd; padding: .5rem 0; list-style: none; }
  .entry-message { white-space: pre-wrap; margin: .25rem 0 0; }
  time, .meta { color: #666; font-size: .875rem; }
  footer { margin-top: 3rem; color: #666; font-size: .875rem; border-top: 1px solid #ddd; }`;

export function layout(ctx: PageContext, title: string, content: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Guestbook</title>
<style>${STYLE}</style>
</head>
<body>
<nav>
  <a href="${ctx.url('index')}">Guestbook</a>
  <a href="${ctx.url('files')}">Files</a>
  ${
    ctx.visitor !== undefined &&
    html`<span id="greeting">Hello again, ${ctx.visitor}!</span>
  <form method="post" action="${ctx.url('forget')}"><button>Forget me</button></form>`
  }
</nav>
${ctx.flashes.map((f) => html`<p class="flash ${f.kind}" role="status">${f.text}</p>`)}
${content}
<footer><p id="storage">Entries and files are stored in ${ctx.storeDescription}.</p></footer>
</body>
</html>
`;
}

function errorList(errors: string[]): Value {
  return errors.length > 0 && html`<ul class="errors" id="errors">${errors.map((e) => html`<li>${e}</li>`)}</ul>`;
}

export interface SignForm {
  name: string;
  message: string;
  errors: string[];
}

export function indexPage(ctx: PageContext, entries: Entry[], form: SignForm): Html {
  return layout(
    ctx,
    'Sign the guestbook',
    html`<h1>Sign the guestbook</h1>
${errorList(form.errors)}
<form method="post" action="${ctx.url('sign')}" id="sign">
  <label>Your name <input type="text" name="name" value="${form.name}" maxlength="60" required autocomplete="name"></label>
  <label>Message <textarea name="message" rows="4" maxlength="1000" required>${form.message}</textarea></label>
  <p><button type="submit">Sign</button></p>
</form>
<h2>${entries.length === 0 ? 'No entries yet' : `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`}</h2>
<ul id="entries">
${entries.map(
  (
    e,
  ) => html`<li class="entry" id="entry-${e.id}"><strong class="entry-name">${e.name}</strong> <time datetime="${e.created}">${e.created.slice(0, 16).replace('T', ' ')} UTC</time>
<p class="entry-message">${e.message}</p></li>
`,
)}</ul>`,
  );
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function filesPage(ctx: PageContext, files: StoredFile[], maxUpload: number, errors: string[] = []): Html {
  return layout(
    ctx,
    'Files',
    html`<h1>Files</h1>
${errorList(errors)}
<form method="post" action="${ctx.url('upload')}" enctype="multipart/form-data" id="upload">
  <label>A file (at most ${formatSize(maxUpload)}) <input type="file" name="file" required></label>
  <p><button type="submit">Upload</button></p>
</form>
<h2>${files.length === 0 ? 'No files yet' : 'Uploaded'}</h2>
<table id="files">
<thead><tr><th>Name</th><th>Size</th><th>From</th></tr></thead>
<tbody>
${files.map(
  (f) => html`<tr class="file" id="file-${f.id}">
  <td><a class="file-name" href="${ctx.url('download', { id: f.id })}" download>${f.filename}</a></td>
  <td class="file-size" data-bytes="${f.size}" title="${f.size} bytes">${formatSize(f.size)}</td>
  <td class="meta">${f.uploader}, <time datetime="${f.created}">${f.created.slice(0, 16).replace('T', ' ')} UTC</time></td>
</tr>
`,
)}</tbody>
</table>`,
  );
}

// What to tell a person for the errors a visitor can cause; the exception's own text otherwise.
const EXPLAIN: Record<number, string> = {
  404: 'There is no page at this address.',
  405: 'This page does not take that kind of request.',
  413: 'That was too large.',
};

/** The friendly text for the status, and the exception's own description when the code gave it one. */
function explain(err: HTTPException): string {
  const generic = (err.constructor as typeof HTTPException).description;
  const friendly = EXPLAIN[err.code];
  if (friendly === undefined) return err.description;
  return err.description === generic ? friendly : `${friendly} ${err.description}`;
}

export function errorPage(ctx: PageContext, err: HTTPException, detail?: string): Html {
  return layout(
    ctx,
    err.reason,
    html`<h1 id="error-title">${err.code} ${err.reason}</h1>
<p id="error-text">${explain(err)}${detail !== undefined && html` ${detail}`}</p>
<p><a href="${ctx.url('index')}">Back to the guestbook</a></p>`,
  );
}
