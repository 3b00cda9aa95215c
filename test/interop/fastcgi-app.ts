// The application tsgi serves in the FastCGI and CGI interop tests: in-process behind the FastCGI
// door, and loaded by src/cgi/bin.ts in each CGI process. Routes on the last path segment, so any
// SCRIPT_NAME/PATH_INFO split a front end makes still reaches the right one.
import { appendFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Application, Environ, EnvironRecord, StartResponse } from '../../src/spec.js';

export const STREAM_BYTES = 10 * 1024 * 1024;
export const STREAM_CHUNK = 64 * 1024;
const STARS = '*'.repeat(30);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Python's str.encode('latin-1', 'backslashreplace'), as the seed's app.py encodes its output. */
function latin1(text: string): Buffer {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    out += cp <= 0xff ? ch : '\\u' + cp.toString(16).padStart(4, '0');
  }
  return Buffer.from(out, 'latin1');
}

/** The seed's environ app (app.py's application_with_body): sorted `key:value` lines, then BODY:<hex>. */
async function environApp(environ: Environ, startResponse: StartResponse) {
  const length = Number.parseInt(String(environ.CONTENT_LENGTH ?? ''), 10);
  const input = environ['wsgi.input'];
  const payload = length > 0 ? await input.read(length) : environ['wsgi.input_terminated'] ? await input.read() : new Uint8Array(0);
  const lines = Object.keys(environ)
    .sort()
    .map((k) => `${k}:${String((environ as EnvironRecord)[k])}`);
  const parts = ['The Begining\n', STARS + '\n', lines.join('\n')];
  if (payload.length > 0) parts.push('\nBODY:' + Buffer.from(payload).toString('hex'));
  parts.push('\n' + STARS, '\nThe End');
  const data = parts.map(latin1);
  startResponse('200 OK', [
    ['Content-Type', 'text/plain'],
    ['Content-Length', String(data.reduce((n, p) => n + p.length, 0))],
  ]);
  return data;
}

/** Called when a /forever body is closed (in-process runs); CGI runs append to TSGI_TEST_MARKER. */
export const forever = { closed: (_complete: boolean) => {} };
/** Where /forever stops, so that a front end that buffers whole responses cannot fill the disk. */
export const FOREVER_LIMIT = 64 * 1024 * 1024;

export const application: Application = async (environ, startResponse) => {
  const p = `${environ.SCRIPT_NAME}${environ.PATH_INFO}`;
  const leaf = p.slice(p.lastIndexOf('/') + 1);
  switch (leaf) {
    case 'echo': {
      const body = Buffer.from(await environ['wsgi.input'].read());
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`${body.length} ${createHash('sha256').update(body).digest('hex')}`];
    }
    case 'stream':
      // No Content-Length: the front end frames it (chunked to the client).
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
      return (function* () {
        for (let i = 0; i < STREAM_BYTES / STREAM_CHUNK; i++) yield Buffer.alloc(STREAM_CHUNK, i % 251);
      })();
    case 'errors':
      environ['wsgi.errors'].write('a line for the error log from wsgi.errors\n');
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return ['logged\n'];
    case 'hello':
      startResponse('200 OK', [
        ['Content-Type', 'text/plain'],
        ['X-Hello', 'yes'],
      ]);
      return ['Hello, World!\n'];
    case 'forever': {
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
      const chunk = Buffer.alloc(STREAM_CHUNK, 120);
      const marker = (environ as EnvironRecord).TSGI_TEST_MARKER; // a CGI variable the test's front end sets
      let sent = 0;
      return {
        async *[Symbol.asyncIterator]() {
          while (sent < FOREVER_LIMIT) {
            await sleep(1);
            sent += chunk.length;
            yield chunk;
          }
        },
        close() {
          const complete = sent >= FOREVER_LIMIT;
          if (typeof marker === 'string') appendFileSync(marker, complete ? 'complete\n' : 'closed\n');
          forever.closed(complete);
        },
      };
    }
    case 'broken':
      // Part of a body, then a failure: the client must be able to tell the response is incomplete.
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return (function* () {
        yield 'the beginning of a response that never ends\n';
        throw new Error('the body broke off');
      })();
    default:
      return environApp(environ, startResponse);
  }
};

/** The sha256 of the /stream body. */
export function streamDigest(): string {
  const h = createHash('sha256');
  for (let i = 0; i < STREAM_BYTES / STREAM_CHUNK; i++) h.update(Buffer.alloc(STREAM_CHUNK, i % 251));
  return h.digest('hex');
}
