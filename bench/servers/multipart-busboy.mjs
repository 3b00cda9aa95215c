// The node:http reference of the `multipart` scenarios: the request piped into @fastify/busboy (tsgi's
// own parser, a dependency), each file part streamed to a temporary file and removed once counted,
// each field counted. What a Node server does at the least to take a form with files to disk.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Busboy } from '@fastify/busboy';
import { multipartAnswer } from './common.mjs';

export function multipart(req, res) {
  let fields = 0;
  let bytes = 0;
  const files = [];
  let answered = false;
  const reply = (status, text) => {
    if (answered) return;
    answered = true;
    const body = Buffer.from(text);
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  };
  let bb;
  try {
    bb = Busboy({ headers: req.headers });
  } catch (err) {
    return reply(400, `${err.message}\n`);
  }
  bb.on('field', () => fields++);
  bb.on('file', (_name, stream) => {
    const tmp = path.join(tmpdir(), `bench-upload-${randomBytes(8).toString('hex')}`);
    stream.on('data', (chunk) => (bytes += chunk.length));
    files.push(pipeline(stream, createWriteStream(tmp, { mode: 0o600 })).finally(() => unlink(tmp).catch(() => {})));
  });
  bb.on('finish', () => {
    Promise.all(files).then(
      () => reply(200, multipartAnswer(fields, files.length, bytes)),
      (err) => reply(500, `${err.message}\n`),
    );
  });
  bb.on('error', (err) => reply(400, `${err.message}\n`));
  req.on('error', () => bb.destroy());
  req.pipe(bb);
}
