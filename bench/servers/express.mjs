// express 5 with its defaults (ETag, X-Powered-By) serving the bench apps:   node bench/servers/express.mjs PORT APP
import { Readable } from 'node:stream';
import express from 'express';
import { HELLO, MIB, args, chunks, environDump, listening } from './common.mjs';

const { port, app } = args();
const server = express();

switch (app) {
  case 'hello':
    server.get('/', (_req, res) => res.type('text/plain').send(HELLO));
    break;
  case 'environ':
    server.get('/', (req, res) => res.type('text/plain').send(environDump(req, port)));
    break;
  case 'mib':
    server.get('/', (_req, res) => res.type('application/octet-stream').send(MIB));
    break;
  case 'upload':
    server.post('/', express.raw({ type: () => true, limit: '4mb' }), (req, res) => res.type('text/plain').send(String(req.body.length)));
    break;
  case 'stream':
    server.get('/', (_req, res) => {
      res.type('application/octet-stream');
      Readable.from(chunks()).pipe(res);
    });
    break;
}

server.listen(port, '127.0.0.1', () => listening(port));
