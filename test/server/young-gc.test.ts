// src/server/young-gc.ts, as a server meets it: the real CLI (--single-process, under `node --trace-gc`)
// takes 800 uploads of 1 MiB (after 64 of warm-up), read in 64 KiB pieces and dropped as
// bench/apps/tsgi.ts:upload does, through each door: both HTTP engines on one keep-alive connection
// (fetch keeps it open, as a browser or an API client does), uwsgi and FastCGI with a connection per
// request (nginx's default). Without the scavenges every 16 MiB, V8 frees the body buffers with full
// mark-compacts and runs no scavenge at all (Node 24, calls taken out: node engine 25 mark-compacts,
// uwsgi 14, FastCGI 36, net engine 14; 0 scavenges each). With them: about 50 scavenges and 0-6
// mark-compacts, from the old generation growing with what the scavenges promote, not from the buffers.
// On Node 20 the net engine passed without the call too (its V8 kept under one mark-compact by itself).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { encodePacket } from '../../src/protocol/uwsgi.js';
import { FCGI, beginRequest, encodePairs, encodeRecord, encodeStream } from '../../src/protocol/fastcgi.js';

const APP = `export default async function app(environ, startResponse) {
  const input = environ['wsgi.input'];
  let n = 0;
  for (let piece = await input.read(65536); piece.length > 0; piece = await input.read(65536)) n += piece.length;
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [String(n)];
}
`;
const MIB = 1024 * 1024;
const body = new Uint8Array(MIB).fill(120);

const CGI_VARS: Array<[string, string]> = [
  ['REQUEST_METHOD', 'POST'],
  ['REQUEST_URI', '/'],
  ['PATH_INFO', '/'],
  ['QUERY_STRING', ''],
  ['SERVER_NAME', 'localhost'],
  ['SERVER_PORT', '80'],
  ['SERVER_PROTOCOL', 'HTTP/1.1'],
  ['REMOTE_ADDR', '127.0.0.1'],
  ['CONTENT_TYPE', 'application/octet-stream'],
  ['CONTENT_LENGTH', String(MIB)],
];

/** Writes one request on a new connection and reads until the server closes it, as nginx does. */
function exchange(port: number, bytes: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(bytes));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

const uwsgiPacket = encodePacket(CGI_VARS, body);
const fastcgiRequest = Buffer.concat([
  beginRequest(1),
  encodeStream(FCGI.PARAMS, 1, encodePairs(CGI_VARS)),
  encodeRecord(FCGI.PARAMS, 1),
  encodeStream(FCGI.STDIN, 1, body),
  encodeRecord(FCGI.STDIN, 1),
]);

const DOORS: Array<{ name: string; bind: string; args: string[]; upload: (port: number) => Promise<void> }> = [
  { name: 'the net engine', bind: '127.0.0.1:0', args: ['--engine', 'net'], upload: viaFetch },
  { name: 'the node engine', bind: '127.0.0.1:0', args: ['--engine', 'node'], upload: viaFetch },
  {
    name: 'the uwsgi door',
    bind: 'uwsgi://127.0.0.1:0',
    args: [],
    upload: async (port) => assert.match(await exchange(port, uwsgiPacket), new RegExp(`^HTTP/1\\.1 200 OK\\r\\n[^]*\\r\\n\\r\\n${MIB}$`)),
  },
  {
    name: 'the FastCGI door',
    bind: 'fastcgi://127.0.0.1:0',
    args: [],
    // The STDOUT record's content ends with the body; END_REQUEST follows it.
    upload: async (port) => assert.ok((await exchange(port, fastcgiRequest)).includes(`\r\n\r\n${MIB}`)),
  },
];

async function viaFetch(port: number): Promise<void> {
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body })).text(), String(MIB));
}

describe('1 MiB uploads: the body buffers are freed by scavenges, not by mark-compacts', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-young-gc-'));
  const app = path.join(dir, 'upload.mjs');
  writeFileSync(app, APP);
  for (const door of DOORS) {
    it(door.name, async (t) => {
      let server: RunningCli | undefined;
      try {
        server = await startCli([app, '--bind', door.bind, '--single-process', ...door.args], { nodeArgs: ['--trace-gc'] });
        for (let i = 0; i < 64; i++) await door.upload(server.port);
        const from = server.stdout().length;
        for (let i = 0; i < 800; i++) await door.upload(server.port);
        const log = server.stdout().slice(from);
        const full = log.split('\n').filter((l) => l.includes('Mark-Compact')).length;
        const young = log.split('\n').filter((l) => l.includes('Scavenge')).length;
        t.diagnostic(`${full} mark-compacts, ${young} scavenges`);
        assert.ok(young >= 20, `only ${young} scavenges for 800 MiB of body buffers:\n${log}`);
        // 14 or more is V8 marking the heap for the buffers; up to 6 were seen with the scavenges (the
        // old generation growing, more so on a loaded machine).
        assert.ok(full <= 8, `${full} mark-compacts for 800 MiB of body buffers (one per 64 MiB means the scavenges did not run):\n${log}`);
      } finally {
        await server?.stop();
      }
    });
  }
  after(() => rmSync(dir, { recursive: true, force: true }));
});
