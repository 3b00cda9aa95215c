// The floor of `npm run bench`'s Node rows: the least a server on node:net can do per request, with
// no parsing, no validation and no environ. No server built on Node can beat it on this machine, so
// it shows how much of the gap to a C peer is Node's own per-socket cost rather than tsgi's.
//
//   node bench/servers/node-net.mjs PORT http     answers every read with one fixed hello response
//                                                 (keep-alive; `Connection: close` when the request says so)
//   node bench/servers/node-net.mjs PORT uwsgi    a uwsgi backend: answers the first read with the fixed
//                                                 response and closes (what uWSGI does; nginx opens a
//                                                 connection per request)
//   node bench/servers/node-net.mjs PORT upload   the upload app's floor: per keep-alive connection, finds
//                                                 the end of each request head, reads its Content-Length,
//                                                 counts that many body bytes as node:net hands them over
//                                                 (keeping none, copying none), then answers the count as
//                                                 the upload apps do (text/plain, the decimal byte count),
//                                                 and goes on with the next request, which may start in
//                                                 the same read as the end of the body
//
// http and uwsgi assume each read holds one whole request (true of wrk and nginx here): a floor, not a
// server. upload parses nothing but the head's end, Content-Length and `Connection: close`.
//
// Every mode reads with node's `onread` set on the accepted socket, as tsgi's net engine does
// (src/http/net/reads.ts says how and why), not with 'data' events, which cost a new buffer and a trip
// through the socket's stream per read: http and uwsgi into one buffer used again for every read, upload
// into a new buffer per read (see READS), with a scavenge every 16 MiB of them as tsgi's net engine
// does. A fourth argument `data` reads with 'data' events instead, to measure that difference.
import net from 'node:net';
import { HELLO, listening } from './common.mjs';
// The upload mode frees its read buffers as tsgi's net engine does, with a scavenge every 16 MiB of them
// (src/server/young-gc.ts says why): without it V8 marks the whole heap every 64 MiB of uploads, and
// the floor would not be the least a Node server can do.
import { bodyBytesAllocated } from '../../dist/server/young-gc.js';

const MODES = ['http', 'uwsgi', 'upload'];
const port = Number(process.argv[2]);
const mode = process.argv[3];
let dataEvents = process.argv[4] === 'data';
if (!Number.isInteger(port) || !MODES.includes(mode) || (process.argv[4] !== undefined && !dataEvents)) {
  process.stderr.write(`usage: node bench/servers/node-net.mjs PORT ${MODES.join('|')} [data]\n`);
  process.exit(2);
}

// The one read buffer of the http and uwsgi modes: each read's bytes are handled before the next read
// overwrites them. The upload mode reads each read into a new buffer instead, as a server must whose
// application is handed the body (PEP 3333's read() returns bytes the application keeps, so each read
// needs memory of its own: Node's own reads allocate one, tsgi's body reads do, src/http/net/reads.ts).
// Reading uploads into the one buffer and dropping them would measure nothing a server can do.
const READ_SIZE = 64 * 1024;
const READS = Buffer.allocUnsafeSlow(READ_SIZE);
let hooks;
/** Calls onChunk(bytes) for each read of `socket`: a view of READS (or of a new buffer per read: `fresh`), or a 'data' chunk. */
function onReads(socket, onChunk, fresh = false) {
  if (!dataEvents) {
    const own = Object.getOwnPropertySymbols(socket);
    hooks ??= ['kBuffer', 'kBufferCb', 'kBufferGen'].map((d) => own.find((s) => s.description === d));
    if (hooks.every((h) => h !== undefined) && typeof socket._handle?.useUserBuffer === 'function') {
      const first = fresh ? Buffer.allocUnsafeSlow(READ_SIZE) : READS;
      socket[hooks[0]] = first;
      socket[hooks[1]] = (n, buf) => onChunk(buf.subarray(0, n));
      if (fresh) {
        socket[hooks[2]] = () => {
          bodyBytesAllocated(READ_SIZE);
          return Buffer.allocUnsafeSlow(READ_SIZE);
        };
      }
      socket._handle.useUserBuffer(first);
      return;
    }
    process.stderr.write('node-net.mjs: this Node does not let an accepted socket read into a buffer of ours; reading with data events\n');
    dataEvents = true;
  }
  socket.on('data', onChunk);
}

const head = (extra) => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${HELLO.length}\r\n${extra}\r\n`;
const KEEP = Buffer.concat([Buffer.from(head('')), HELLO]);
const CLOSE = Buffer.concat([Buffer.from(head('Connection: close\r\n')), HELLO]);
// Case-insensitive "connection: close" anywhere in the head: good enough for wrk's requests.
const WANTS_CLOSE = /\r\nconnection:[ \t]*close/i;

function hello(socket) {
  onReads(socket, (chunk) => {
    if (WANTS_CLOSE.test(chunk.toString('latin1'))) socket.end(CLOSE);
    else socket.write(KEEP);
  });
  socket.on('error', () => {});
}

function uwsgi(socket) {
  let answered = false;
  onReads(socket, () => {
    if (answered) return;
    answered = true;
    socket.end(KEEP);
    socket.destroySoon();
  });
  socket.on('error', () => {});
}

const END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n/i;
// A head longer than this (or a body without Content-Length, e.g. chunked) ends the connection.
const MAX_HEAD = 16 * 1024;
const FAILED = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');

// The answer for a count, built once per count (wrk and the upload client post the same size each time).
let answerFor = -1;
let answerBytes = null;
function answer(count, close) {
  if (close) {
    const body = String(count);
    return Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, 'latin1');
  }
  if (count !== answerFor) {
    const body = String(count);
    answerBytes = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
    answerFor = count;
  }
  return answerBytes;
}

function upload(socket) {
  // Between requests: the start of a head that has not ended yet (rare: a head split across reads).
  let pending = null;
  // Inside a body: the bytes still to come, and how many came.
  let left = -1;
  let counted = 0;
  let close = false;
  let done = false;

  const finish = () => {
    const bytes = answer(counted, close);
    left = -1;
    if (close) {
      done = true;
      socket.end(bytes);
    } else socket.write(bytes);
  };

  onReads(
    socket,
    (chunk) => {
      let at = 0;
      while (!done && at < chunk.length) {
        if (left >= 0) {
          // The body: count what this read holds of it.
          const take = Math.min(left, chunk.length - at);
          counted += take;
          left -= take;
          at += take;
          if (left === 0) finish();
          continue;
        }
        // A head: look for its end in this read (joined to a split head's start, copying only the head part).
        let text;
        let bodyAt;
        if (pending === null) {
          const end = chunk.indexOf(END, at);
          if (end === -1) {
            if (chunk.length - at > MAX_HEAD) return fail();
            pending = Buffer.from(chunk.subarray(at));
            return;
          }
          text = chunk.toString('latin1', at, end);
          bodyAt = end + END.length;
        } else {
          const joined = Buffer.concat([pending, chunk.subarray(at, at + MAX_HEAD)]);
          const end = joined.indexOf(END);
          if (end === -1) {
            if (joined.length > MAX_HEAD) return fail();
            pending = joined;
            return;
          }
          text = joined.toString('latin1', 0, end);
          bodyAt = at + end + END.length - pending.length;
          pending = null;
        }
        // The head ends without its last `\r\n`: put one back so that the last header matches like the others.
        const cl = CONTENT_LENGTH.exec(`${text}\r\n`);
        if (cl === null && /\r\ntransfer-encoding:/i.test(text)) return fail();
        close = WANTS_CLOSE.test(text);
        left = cl === null ? 0 : Number(cl[1]);
        counted = 0;
        at = bodyAt;
        if (left === 0) finish();
      }
    },
    true,
  );
  socket.on('error', () => {});

  function fail() {
    done = true;
    socket.end(FAILED);
  }
}

const server = net.createServer({ noDelay: mode !== 'uwsgi' }, { http: hello, uwsgi, upload }[mode]);
server.listen(port, '127.0.0.1', () => listening(port));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
