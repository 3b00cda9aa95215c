// fastify (logger off) serving the bench apps:   node bench/servers/fastify.mjs PORT APP
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { HELLO, MIB, args, chunks, environDump, listening } from './common.mjs';

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
}

await server.listen({ port, host: '127.0.0.1' });
listening(port);
