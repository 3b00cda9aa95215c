// --single-process and --inspect: the application in the CLI's own process, as a container or a
// debugger needs it. The built CLI in a subprocess, keep-alive requests, real signals, a real inspector.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { runCli, startCli } from '../helpers/cli.js';
import { FAULT, childrenOf, get } from './helpers.js';

/** Requests on one keep-alive connection, as real clients send them. */
async function keepAlive(port: number, paths: string[]): Promise<string[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out: string[] = [];
  try {
    for (const p of paths) {
      out.push(
        await new Promise<string>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
              let body = '';
              res.setEncoding('latin1');
              res.on('data', (d) => (body += d));
              res.on('end', () => resolve(body));
            })
            .on('error', reject);
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  return out;
}

describe('--single-process', { timeout: 60_000 }, () => {
  it('serves from the CLI process itself (no children), keeps connections open, drains on SIGTERM', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '--single-process']);
    try {
      const pid = cli.child.pid!;
      const bodies = await keepAlive(cli.port, ['/pid', '/pid', '/pid']);
      assert.deepEqual(bodies, [String(pid), String(pid), String(pid)]);
      assert.deepEqual(await childrenOf(pid), [], 'no worker processes');
      assert.match(cli.stderr(), /in a single process/);
      // The heartbeat timeout is on by default: no warning about it unless it was set.
      assert.doesNotMatch(cli.stderr(), /ignoring --timeout/);
      const stream = get(cli.port, '/stream?n=8&ms=200', 20_000);
      await new Promise((r) => setTimeout(r, 400));
      const code = cli.stop('SIGTERM');
      const r = await stream;
      assert.equal(r.error, undefined);
      assert.match(r.body, /done\n$/);
      assert.equal(await code, 0);
      assert.match(cli.stderr(), /SIGTERM: shutting down gracefully/);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('says once that a --timeout it was given is ignored (no master watches the event loop)', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '--single-process', '--timeout', '10']);
    try {
      assert.match(cli.stderr(), /--single-process: ignoring --timeout/);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('refuses what only a master can do, naming the conflict', async () => {
    const w = await runCli([FAULT, '--single-process', '-w', '2']);
    assert.equal(w.code, 2);
    assert.match(w.stderr, /--single-process runs no workers: leave out --workers 2/);
    const r = await runCli([FAULT, '--inspect', '--reload']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--inspect \(which serves in a single process\) cannot --reload/);
  });
});

describe('--inspect', { timeout: 60_000 }, () => {
  it("opens Node's inspector in the process that runs the application: a debugger evaluates inside it", async () => {
    // --inspect-port=0: a free port, so the test never collides with a developer's 9229.
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '--inspect'], { env: { NODE_OPTIONS: '--inspect-port=0' } });
    try {
      const url = /Inspector open at (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(cli.stderr())?.[1];
      assert.ok(url, cli.stderr());
      const served = (await get(cli.port, '/pid')).body;
      const ws = new WebSocket(url);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const reply = await new Promise<{ result: { result: { value: number } } }>((resolve) => {
        ws.once('message', (data) => resolve(JSON.parse(String(data))));
        ws.send(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: 'process.pid' } }));
      });
      ws.close();
      assert.equal(String(reply.result.result.value), served, 'the inspector is in the process that answered the request');
      assert.equal(await cli.stop('SIGTERM'), 0);
    } finally {
      await cli.stop('SIGKILL');
    }
  });
});
