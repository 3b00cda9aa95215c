// Scaling out (issue 5): nginx balances two tsgi instances (the real CLI, each its own master and
// worker) over the uwsgi protocol. Under a bounded load one instance is killed with -9: idempotent
// requests all succeed (nginx retries them on the survivor) and the survivor keeps serving.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { sleep } from '../helpers/net.js';
import { findBinary, freePort, removeDir, startPeer, tempDir, type Peer } from './uwsgi-peers.js';

const missing = () => (findBinary('nginx') ? null : 'nginx not installed (apt-get install nginx-light)');

function get(port: number, agent: http.Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(-1));
    });
    req.on('error', () => resolve(-1));
    req.setTimeout(10_000, () => req.destroy());
  });
}

describe('nginx balancing two tsgi instances over uwsgi, one killed with -9', { skip: missing() ?? false }, () => {
  let dir = '';
  let nginx: Peer | undefined;
  const instances: RunningCli[] = [];
  let port = 0;

  before(async () => {
    dir = tempDir('failover');
    const backs = [await freePort(), await freePort()];
    for (const b of backs) instances.push(await startCli(['examples/hello.ts', '--bind', `uwsgi://127.0.0.1:${b}`]));
    port = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      `pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; uwsgi_temp_path ${dir}/uwsgi; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; scgi_temp_path ${dir}/scgi;
  upstream tsgi {
    server 127.0.0.1:${backs[0]} max_fails=1 fail_timeout=30s;
    server 127.0.0.1:${backs[1]} max_fails=1 fail_timeout=30s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      include ${path.resolve('bench/nginx/uwsgi_params')};
      uwsgi_pass tsgi;
      uwsgi_next_upstream error timeout;
    }
  }
}
`,
    );
    nginx = await startPeer(
      'nginx',
      dir,
      [findBinary('nginx')!, '-p', dir, '-c', conf, '-e', `${dir}/error.log`, '-g', 'daemon off; master_process off;'],
      port,
    );
  });

  after(async () => {
    await nginx?.stop();
    for (const i of instances) await i.stop('SIGKILL');
    removeDir(dir);
  });

  it('every request succeeds across the kill, and the survivor serves alone afterwards', { timeout: 60_000 }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const statuses: number[] = [];
    let stop = false;
    const workers = Array.from({ length: 8 }, async () => {
      while (!stop) statuses.push(await get(port, agent));
    });
    while (statuses.length < 300) await sleep(10);
    const victim = instances[0]!;
    // The whole instance dies at once: its master and its worker.
    const kids = (await import('node:child_process')).execFileSync('pgrep', ['-P', String(victim.child.pid)], { encoding: 'utf8' });
    for (const pid of kids.split(/\s+/).filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
    process.kill(victim.child.pid!, 'SIGKILL');
    const atKill = statuses.length;
    while (statuses.length < atKill + 600) await sleep(10);
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    const failed = statuses.filter((s) => s !== 200);
    assert.equal(failed.length, 0, `${failed.length} of ${statuses.length} failed: ${[...new Set(failed)].join(',')}\n${nginx!.log()}`);
    assert.ok(statuses.length >= atKill + 600, 'the load went on after the kill');
    // nginx did meet the dead instance (and retried on the survivor): its error log says so.
    const { readFileSync } = await import('node:fs');
    assert.match(readFileSync(path.join(dir, 'error.log'), 'latin1'), /(Connection refused|prematurely closed|reset by peer).*upstream/);
    // The survivor alone answers now (the dead one is marked failed for 30 s).
    assert.equal(await get(port, new http.Agent()), 200);
    assert.match(instances[1]!.stderr(), /Listening at: uwsgi:\/\/127\.0\.0\.1:\d+/);
  });
});
