// fastify (logger off) serving the bench apps:   node bench/servers/fastify.mjs PORT APP
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Fastify from 'fastify';
import { HELLO, MIB, args, chunks, environDump, listening, multipartAnswer } from './common.mjs';
import { NOT_FOUND_BODY, NOT_FOUND_TYPE, ROUTES, ROUTE_TYPE, paramNames, routeBody } from '../github-routes.mjs';

const { port, app } = args();
const server = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
// Any body as a Buffer (fastify parses only JSON and text by default).
server.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

switch (app) {
  case 'hello':
    server.get('/', (_req, reply) => reply.type('text/plain').send(HELLO));
    break;
  case 'environ':
    server.get('/', (req, reply) => reply.type('text/plain').send(environDump(req.raw, port)));
    break;
  case 'mib':
    server.get('/', (_req, reply) => reply.type('application/octet-stream').send(MIB));
    break;
  case 'upload':
    server.post('/', (req, reply) => reply.type('text/plain').send(String(req.body.length)));
    break;
  case 'stream':
    server.get('/', (_req, reply) => reply.type('application/octet-stream').send(Readable.from(chunks())));
    break;
  case 'routes':
    for (const [method, rule] of ROUTES) {
      const names = paramNames(rule);
      server.route({
        method,
        url: rule,
        handler: (req, reply) =>
          reply.type(ROUTE_TYPE).send(
            routeBody(
              rule,
              names.map((n) => req.params[n]),
            ),
          ),
      });
    }
    server.setNotFoundHandler((_req, reply) => reply.code(404).type(NOT_FOUND_TYPE).send(NOT_FOUND_BODY));
    break;
  case 'multipart': {
    // @fastify/multipart (busboy inside): each file part streamed to a temporary file and removed once
    // counted, as bench/servers/multipart-busboy.mjs does. Its default limits (1,000 parts, files up to
    // bodyLimit) raised past the benchmark's 100 MiB file.
    const { default: multipart } = await import('@fastify/multipart');
    await server.register(multipart, { limits: { fileSize: 1024 ** 3, parts: 10000, fields: 10000 } });
    server.post('/', async (req, reply) => {
      let fields = 0;
      let files = 0;
      let bytes = 0;
      for await (const part of req.parts()) {
        if (part.type !== 'file') {
          fields++;
          continue;
        }
        files++;
        const tmp = path.join(tmpdir(), `bench-upload-${randomBytes(8).toString('hex')}`);
        part.file.on('data', (chunk) => (bytes += chunk.length));
        try {
          await pipeline(part.file, createWriteStream(tmp, { mode: 0o600 }));
        } finally {
          await unlink(tmp).catch(() => {});
        }
      }
      return reply.type('text/plain').send(multipartAnswer(fields, files, bytes));
    });
    break;
  }
}

await server.listen({ port, host: '127.0.0.1' });
listening(port);
