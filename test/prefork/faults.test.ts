// F1–F4 of reliability.md (d), through the real CLI and a prefork worker, read off a raw socket so
// that framing is visible: what the client gets when the application fails before, at and after
// its first body byte, or sends fewer or more bytes than its Content-Length. The worker lives
// through all of them, and the error log names each.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { FAULT, waitFor } from './helpers.js';

interface Raw {
  /** Everything received, as latin-1 text. */
  text: string;
  /** The server closed the connection (rather than the read timing out). */
  closed: boolean;
}

/** Sends `requests` on one connection; collects until the server closes or `quietMs` pass without data. */
function raw(port: number, requests: string, quietMs = 1500): Promise<Raw> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let timer = setTimeout(() => done(false), quietMs);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ text, closed });
    };
    s.on('data', (d) => {
      text += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => done(false), quietMs);
    });
    s.on('end', () => done(true));
    s.on('error', () => done(true));
    s.write(requests);
  });
}

const GET = (p: string) => `GET ${p} HTTP/1.1\r\nHost: fault.test\r\n\r\n`;

describe('application faults through a prefork worker (F1–F4)', { timeout: 60_000 }, () => {
  let cli: RunningCli;
  let pid: string;
  before(async () => {
    cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '1']);
    pid = (await raw(cli.port, GET('/pid'), 500)).text.split('\r\n\r\n')[1]!;
  });
  after(async () => {
    await cli.stop('SIGKILL');
  });
  const sameWorker = async () => assert.equal((await raw(cli.port, GET('/pid'), 500)).text.split('\r\n\r\n')[1], pid, 'the worker lives');

  it('F1: raising before start_response is a 500 with a body, and the connection may stay open', async () => {
    const r = await raw(cli.port, GET('/raise') + GET('/pid'));
    assert.match(r.text, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.match(r.text, new RegExp(`\\r\\n\\r\\n${pid}$`), 'the pipelined request after it is answered');
    assert.match(cli.stderr(), /the fault app raises on purpose/);
    await sameWorker();
  });

  it('F2: raising after start_response but before any body byte is still a 500 (nothing was sent)', async () => {
    const r = await raw(cli.port, GET('/raise-after-start'));
    assert.match(r.text, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.doesNotMatch(r.text, /200 OK/);
    await waitFor('the log', () => cli.stderr().includes('the fault app raises after start_response'));
    await sameWorker();
  });

  it('F3: raising mid-body: the part sent stays, no terminal chunk, the connection closes, close() runs', async () => {
    const r = await raw(cli.port, GET('/raise-mid-body') + GET('/pid'));
    assert.equal(r.closed, true, 'the server closes so that the client sees the truncation');
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(r.text, /transfer-encoding: chunked\r\n/i);
    assert.match(r.text, /\r\n8\r\npartial-\r\n$/, 'partial body, never the terminal 0 chunk');
    assert.equal((r.text.match(/HTTP\/1\.1/g) ?? []).length, 1, 'the pipelined request is not answered on a broken connection');
    await waitFor(
      'close() and the log',
      () => cli.stderr().includes(`fault app: close() ran (pid ${pid})`) && cli.stderr().includes('the fault app raises mid-body'),
    );
    await sameWorker();
  });

  it('F4: fewer bytes than Content-Length: those bytes, then the connection closes; the log says so', async () => {
    const r = await raw(cli.port, GET('/short-cl') + GET('/pid'));
    assert.equal(r.closed, true);
    assert.match(r.text, /content-length: 100\r\n/i);
    assert.match(r.text, /\r\n\r\n12345678$/);
    await waitFor('the log', () => /sent 8 bytes of its Content-Length 100; connection aborted/.test(cli.stderr()));
    await sameWorker();
  });

  it('F4: more bytes than Content-Length: cut at the declared length, the connection stays usable, the log says so', async () => {
    const r = await raw(cli.port, GET('/long-cl') + GET('/pid'));
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n[^]*content-length: 5\r\n[^]*\r\n\r\n12345HTTP\/1\.1 200 OK\r\n/i);
    assert.match(r.text, new RegExp(`\\r\\n\\r\\n${pid}$`));
    await waitFor('the log', () => /more than its Content-Length 5; truncated/.test(cli.stderr()));
  });
});
