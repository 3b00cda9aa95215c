// Running under systemd: the readiness protocol (sd_notify: READY=1, RELOADING=1, STOPPING=1 on the
// socket named by NOTIFY_SOCKET, received here by a real unix datagram socket, as systemd's own),
// and unix sockets handed to the web server's user and group (--socket-owner/--socket-group,
// which needs root: the test says so and skips otherwise). Socket activation (LISTEN_FDS) is in
// binds.test.ts.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, ROOT, runCli, startCli } from '../helpers/cli.js';
import { needs } from '../helpers/peers.js';
import { FAULT, get, waitFor } from './helpers.js';

/**
 * A unix datagram socket, as systemd's notify socket. Node has none (node:dgram is UDP only), so a
 * few lines of Python (a CI dependency already) receive, one JSON line per datagram.
 */
function notifySocket(dir: string): Promise<{ path: string; messages: string[]; close(): void }> {
  const sock = path.join(dir, 'notify.sock');
  const py = [
    'import json, socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    'print("bound", flush=True)',
    'while True:',
    '    print(json.dumps(s.recv(65536).decode()), flush=True)',
  ].join('\n');
  const child: ChildProcess = spawn('python3', ['-c', py, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the notify socket did not bind')), 10_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === 'bound') {
          clearTimeout(t);
          resolve({ path: sock, messages, close: () => child.kill('SIGKILL') });
        } else messages.push(JSON.parse(line) as string);
      }
    });
  });
}

const fields = (m: string) => Object.fromEntries(m.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

describe('under systemd', { timeout: 60_000 }, () => {
  it('sd_notify: READY=1 with MAINPID once serving, RELOADING=1 then READY=1 around a reload, STOPPING=1 at TERM', {
    skip: needs('python3', 'systemd-notify'),
  }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-notify-'));
    const n = await notifySocket(dir);
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '2'], { env: { NOTIFY_SOCKET: n.path } });
    try {
      const master = cli.child.pid!;
      await waitFor('READY=1', () => n.messages.some((m) => fields(m).READY === '1'));
      const ready = fields(n.messages.find((m) => fields(m).READY === '1')!);
      assert.equal(ready.MAINPID, String(master), 'MAINPID names the master, not the helper that sent it');
      assert.match(ready.STATUS!, /^Serving http:\/\/127\.0\.0\.1:\d+ with [12] workers?$/);
      assert.equal((await get(cli.port, '/pid')).status, 200);

      cli.child.kill('SIGHUP');
      await waitFor('the reload', () => cli.stderr().includes('Reload complete'), 30_000);
      await waitFor('READY=1 after the reload', () => n.messages.filter((m) => fields(m).READY === '1').length === 2);
      const reloading = n.messages.findIndex((m) => fields(m).RELOADING === '1');
      assert.ok(reloading > 0, `RELOADING=1 sent: ${JSON.stringify(n.messages)}`);
      assert.match(fields(n.messages[reloading]!).MONOTONIC_USEC!, /^\d+$/);
      const readyAgain = n.messages.findLastIndex((m) => fields(m).READY === '1');
      assert.ok(readyAgain > reloading, 'READY=1 comes after RELOADING=1');
      assert.match(fields(n.messages[readyAgain]!).STATUS!, /with 2 workers$/);

      assert.equal(await cli.stop('SIGTERM'), 0);
      await waitFor('STOPPING=1', () => n.messages.some((m) => fields(m).STOPPING === '1'));
    } finally {
      await cli.stop('SIGKILL');
      n.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('NOTIFY_SOCKET set but systemd-notify missing: one warning naming the problem; it serves anyway', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-notify-'));
    // A PATH without systemd-notify (node is started by absolute path).
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0'], { env: { NOTIFY_SOCKET: path.join(dir, 'nobody.sock'), PATH: dir } });
    try {
      await waitFor('the warning', () => cli.stderr().includes('NOTIFY_SOCKET is set but'));
      assert.match(cli.stderr(), /\[WARNING\] NOTIFY_SOCKET is set but the readiness message could not be sent \(systemd-notify is not on PATH\)/);
      assert.equal((await get(cli.port, '/pid')).status, 200);
    } finally {
      await cli.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const root = process.getuid?.() === 0;
  it('--socket-owner/--socket-group by name and by id give the unix socket to that user and group', {
    skip: root ? false : 'needs root (chown to another user)',
  }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-owner-'));
    try {
      for (const [owner, group] of [
        ['nobody', 'nogroup'],
        ['65534', '65534'],
      ] as const) {
        const sock = path.join(dir, `${owner}.sock`);
        const cli = spawn(process.execPath, [CLI, FAULT, '-b', `unix:${sock}`, '--socket-mode', '660', '--socket-owner', owner, '--socket-group', group], {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        cli.stderr!.on('data', (d) => (err += d));
        const exited = new Promise((r) => cli.once('exit', r));
        try {
          await waitFor('listening', () => err.includes('Listening at: http://unix:'));
          const st = statSync(sock);
          assert.equal(st.uid, 65534, owner);
          assert.equal(st.gid, 65534, group);
          assert.equal(st.mode & 0o777, 0o660);
        } finally {
          cli.kill('SIGTERM');
          assert.equal(await exited, 0);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown --socket-owner or a malformed --socket-group is refused, naming the setting', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-owner-'));
    try {
      const r = await runCli([FAULT, '-b', `unix:${path.join(dir, 'a.sock')}`, '--socket-owner', 'no-such-user-here']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no user named "no-such-user-here" on this system \(setting socket-owner\)/);
      const g = await runCli([FAULT, '-b', `unix:${path.join(dir, 'b.sock')}`, '--socket-group', 'www data']);
      assert.equal(g.code, 2, 'a malformed value is a usage error');
      assert.match(g.stderr, /socket-group.*must be a group name or a numeric group id/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
