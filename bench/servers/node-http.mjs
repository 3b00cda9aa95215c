// The reference of `npm run bench` (ratio 1.0): raw node:http serving the same bytes as tsgi.
//
//   node bench/servers/node-http.mjs PORT APP [WORKERS [reuseport]]
//
// With WORKERS > 1 it runs node:cluster with SCHED_NONE: every worker accepts on the shared listening
// socket (as gunicorn and uWSGI workers do), not Node's default round-robin, where the primary
// accepts each connection and hands it to a worker (peer-bench.md: 0.56x with Connection: close).
// With `reuseport`, each worker binds a socket of its own with SO_REUSEPORT instead and the kernel
// spreads new connections over them (`listen({ reusePort: true })`: Node >= 22.12 on 22, >= 23.1
// after). `exclusive: true` spells out what Node's listen() implies with reusePort: the worker binds
// its own socket rather than asking the primary for the handle the primary bound (`ss -ltn` shows
// one LISTEN socket per worker).
import cluster from 'node:cluster';
import http from 'node:http';
import { HELLO, MIB, CHUNK, CHUNKS, args, environDump, listening, reusePortMissing } from './common.mjs';
import { NOT_FOUND_BODY, NOT_FOUND_TYPE, ROUTE_TYPE, routeBody } from '../github-routes.mjs';
import { multipart } from './multipart-busboy.mjs';
import { matchRoute } from './routes-switch.mjs';

const { port, app } = args();
const workers = Number(process.argv[4] ?? 1);
const reusePort = process.argv[5] === 'reuseport';
// An older listen() ignores the option: the workers would share one socket without a word.
const noReusePort = reusePort ? reusePortMissing() : null;
if (noReusePort) {
  process.stderr.write(`node-http.mjs: ${noReusePort}\n`);
  process.exit(2);
}

function handler(req, res) {
  switch (app) {
    case 'hello':
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': HELLO.length });
      res.end(HELLO);
      return;
    case 'environ': {
      const data = environDump(req, port);
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': data.length });
      res.end(data);
      return;
    }
    case 'mib':
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': MIB.length });
      res.end(MIB);
      return;
    case 'upload': {
      let n = 0;
      req.on('data', (chunk) => (n += chunk.length));
      req.on('end', () => {
        const body = Buffer.from(String(n));
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
        res.end(body);
      });
      return;
    }
    case 'stream': {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      let i = 0;
      const pump = () => {
        while (i < CHUNKS) {
          i++;
          if (!res.write(CHUNK)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => (i = CHUNKS + 1));
      pump();
      return;
    }
    case 'routes': {
      const q = req.url.indexOf('?');
      const hit = matchRoute(req.method, q === -1 ? req.url : req.url.slice(0, q));
      const body = Buffer.from(hit ? routeBody(hit[0], hit[1]) : NOT_FOUND_BODY);
      res.writeHead(hit ? 200 : 404, { 'Content-Type': hit ? ROUTE_TYPE : NOT_FOUND_TYPE, 'Content-Length': body.length });
      res.end(body);
      return;
    }
    case 'multipart':
      multipart(req, res);
      return;
  }
}

if (workers > 1 && cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('listening', () => {
      if (++ready === workers) listening(port);
    });
  }
  cluster.on('exit', () => process.exit(1));
} else {
  const server = http.createServer(handler);
  const ready = () => {
    if (workers === 1) listening(port);
  };
  if (reusePort) server.listen({ port, host: '127.0.0.1', reusePort: true, exclusive: true }, ready);
  else server.listen(port, '127.0.0.1', ready);
}
