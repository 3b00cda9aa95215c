// The floor of `npm run bench`'s Node rows: the least a server on node:net can do per request, with
// no parsing, no validation and no environ. No server built on Node can beat it on this machine, so
// it shows how much of the gap to a C peer is Node's own per-socket cost rather than tsgi's.
//
//   node bench/servers/node-net.mjs PORT http     answers every read with one fixed hello response
//                                                 (keep-alive; `Connection: close` when the request says so)
//   node bench/servers/node-net.mjs PORT uwsgi    a uwsgi backend: answers the first read with the fixed
//                                                 response and closes (what uWSGI does; nginx opens a
//                                                 connection per request)
//
// It assumes each read holds one whole request (true of wrk and nginx here): a floor, not a server.
import net from 'node:net';
import { HELLO, listening } from './common.mjs';

const port = Number(process.argv[2]);
const mode = process.argv[3];
if (!Number.isInteger(port) || (mode !== 'http' && mode !== 'uwsgi')) {
  process.stderr.write('usage: node bench/servers/node-net.mjs PORT http|uwsgi\n');
  process.exit(2);
}

const head = (extra) => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${HELLO.length}\r\n${extra}\r\n`;
const KEEP = Buffer.concat([Buffer.from(head('')), HELLO]);
const CLOSE = Buffer.concat([Buffer.from(head('Connection: close\r\n')), HELLO]);
// Case-insensitive "connection: close" anywhere in the head: good enough for wrk's requests.
const WANTS_CLOSE = /\r\nconnection:\s*close/i;

const server =
  mode === 'http'
    ? net.createServer({ noDelay: true }, (socket) => {
        socket.on('data', (chunk) => {
          if (WANTS_CLOSE.test(chunk.toString('latin1'))) socket.end(CLOSE);
          else socket.write(KEEP);
        });
        socket.on('error', () => {});
      })
    : net.createServer((socket) => {
        socket.once('data', () => {
          socket.end(KEEP);
          socket.destroySoon();
        });
        socket.on('error', () => {});
      });
server.listen(port, '127.0.0.1', () => listening(port));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
