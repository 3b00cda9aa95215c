// Binds: Unix sockets (F14 stale, F15 live, F16 regular file), inherited descriptors (fd://N and
// systemd's LISTEN_FDS), the uwsgi:// protocol prefix, the port-in-use retries (F13: cli.test.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, ROOT, runCli } from '../helpers/cli.js';
import { FAULT, waitFor } from './helpers.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'tsgi-bind-'));

function getUnix(socketPath: string, p = '/pid'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: p, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function start(args: string[], extra: { env?: Record<string, string>; stdio?: Array<unknown> } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...extra.env },
    stdio: (extra.stdio ?? ['ignore', 'pipe', 'pipe']) as never,
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return {
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const c = await exited;
      clearTimeout(t);
      return c;
    },
  };
}

describe('prefork binds', { timeout: 60_000 }, () => {
  it('F14: a stale socket file is replaced; the mode is set; the file is removed at exit', async () => {
    const dir = tmp();
    const sock = path.join(dir, 'app.sock');
    // A socket file nobody listens on, as a server killed with SIGKILL leaves it.
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((r) => holder.stdout!.once('data', r));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    assert.ok(statSync(sock).isSocket());
    const s = start([FAULT, '--bind', `unix:${sock}`, '--socket-mode', '660']);
    await waitFor('listening', () => s.stderr().includes('Listening at: http://unix:'));
    assert.equal((await getUnix(sock)).status, 200);
    assert.equal(statSync(sock).mode & 0o777, 0o660);
    assert.equal(await s.stop(), 0);
    assert.ok(!existsSync(sock), 'the socket file is removed at exit');
  });

  it('F15: a socket a live server listens on is never taken; F16: a regular file is refused', async () => {
    const dir = tmp();
    const sock = path.join(dir, 'live.sock');
    const live = net.createServer((c) => c.end()).listen(sock);
    await new Promise((r) => live.once('listening', r));
    const r = await runCli([FAULT, '--bind', `unix:${sock}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /another server is listening on .*live\.sock \(a live socket is never taken over\)/);
    assert.ok(statSync(sock).isSocket());
    live.close();
    const file = path.join(dir, 'file.sock');
    writeFileSync(file, 'not a socket');
    const f = await runCli([FAULT, '--bind', `unix:${file}`]);
    assert.equal(f.code, 1);
    assert.match(f.stderr, /file\.sock exists and is not a socket/);
  });

  it('serves an inherited socket: --bind fd://3 and systemd LISTEN_FDS', async () => {
    for (const how of ['fd', 'systemd'] as const) {
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as net.AddressInfo).port;
      const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
      const args = how === 'fd' ? [FAULT, '--bind', 'fd://3'] : [FAULT];
      const env: Record<string, string> = how === 'systemd' ? { LISTEN_FDS: '1' } : {};
      const s = start(args, { env, stdio: ['ignore', 'pipe', 'pipe', fd] });
      await waitFor(`listening (${how})`, () => s.stderr().includes('Listening at: http://fd://3'));
      server.close(); // tsgi's copy keeps it open
      const res = await fetch(`http://127.0.0.1:${port}/pid`);
      assert.equal(res.status, 200, how);
      assert.equal(await s.stop(), 0);
    }
  });

  it('routes uwsgi:// binds to the uwsgi door', async (t) => {
    if (!existsSync(path.join(ROOT, 'src/uwsgi/index.ts'))) return t.skip('src/uwsgi is not there yet');
    const { encodePacket } = await import('../../src/uwsgi/index.js');
    const s = start([FAULT, '--bind', 'uwsgi://127.0.0.1:0', '--bind', '127.0.0.1:0']);
    try {
      await waitFor('listening', () => /Listening at: uwsgi:\/\/127\.0\.0\.1:\d+/.test(s.stderr()));
      const port = Number(/Listening at: uwsgi:\/\/127\.0\.0\.1:(\d+)/.exec(s.stderr())![1]);
      const vars: Record<string, string> = {
        REQUEST_METHOD: 'GET',
        PATH_INFO: '/pid',
        QUERY_STRING: '',
        SERVER_PROTOCOL: 'HTTP/1.1',
        SERVER_NAME: 'x',
        SERVER_PORT: '80',
        REQUEST_URI: '/pid',
      };
      const packet = encodePacket(Object.entries(vars));
      const reply = await new Promise<string>((resolve, reject) => {
        const c = net.connect({ host: '127.0.0.1', port }, () => c.write(packet));
        let out = '';
        c.on('data', (d) => (out += d));
        c.on('end', () => resolve(out));
        c.on('error', reject);
      });
      assert.match(reply, /^HTTP\/1\.[01] 200/);
    } finally {
      await s.stop();
    }
  });
});
