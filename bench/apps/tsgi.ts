// The TSGI applications of `npm run bench` beyond examples/hello.ts and examples/environ.ts: the
// same bytes as bench/python/apps.py and the node:http reference (bench/servers/common.mjs).
//
//   npx tsgi bench/apps/tsgi.ts:mib       1 MiB of 'x', with Content-Length
//   npx tsgi bench/apps/tsgi.ts:upload    reads the whole request body, answers its length
//   npx tsgi bench/apps/tsgi.ts:stream    100 MiB of 'x' in 64 KiB chunks, no Content-Length
//   npx tsgi bench/apps/tsgi.ts:multipart a multipart/form-data body through tsgi/wrappers: counts its
//                                         fields, files and file bytes
import type { Environ, StartResponse } from 'tsgi';
import { handler, Response } from 'tsgi/wrappers';

const MIB = Buffer.alloc(1024 * 1024, 'x');
const CHUNK = Buffer.alloc(64 * 1024, 'x');
const CHUNKS = 1600; // 1600 x 64 KiB = 100 MiB

export function mib(_environ: Environ, startResponse: StartResponse) {
  startResponse('200 OK', [
    ['Content-Type', 'application/octet-stream'],
    ['Content-Length', String(MIB.length)],
  ]);
  return [MIB];
}

// Reads every byte in 64 KiB pieces and counts them, keeping none, as the Python apps do and as the
// node:http reference counts its 'data' chunks. (Iterating wsgi.input would yield lines, as PEP 3333
// says: one 1 MiB "line" of x's here.)
export async function upload(environ: Environ, startResponse: StartResponse) {
  const input = environ['wsgi.input'];
  let n = 0;
  for (let piece = await input.read(65536); piece.length > 0; piece = await input.read(65536)) n += piece.length;
  const body = String(n);
  startResponse('200 OK', [
    ['Content-Type', 'text/plain'],
    ['Content-Length', String(body.length)],
  ]);
  return [body];
}

function* chunks(): Generator<Uint8Array> {
  for (let i = 0; i < CHUNKS; i++) yield CHUNK;
}

export function stream(_environ: Environ, startResponse: StartResponse) {
  startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
  return chunks();
}

// Request.from(environ).form() / files() (handler() makes that request): the body streamed through
// @fastify/busboy, each file past spoolThreshold (500 KiB) into a temporary file, which handler()
// removes when the response ends. Default limits (1,000 parts: the 1,000-field form just fits).
export const multipart = handler(async (request) => {
  const form = await request.form();
  const files = await request.files();
  let bytes = 0;
  for (const file of files.values()) bytes += file.size;
  return new Response(`${form.size} fields, ${files.size} files, ${bytes} file bytes\n`, { contentType: 'text/plain' });
});
