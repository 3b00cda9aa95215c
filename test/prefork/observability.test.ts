// Metrics and TLS through the real CLI: the Prometheus endpoint sums every worker's counts, and an
// HTTP bind with --certfile/--keyfile serves HTTPS with wsgi.url_scheme https.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { sleep } from '../helpers/net.js';
import { needs } from '../helpers/peers.js';

it('serves Prometheus metrics summed over two workers', { timeout: 60_000 }, async () => {
  const cli = await startCli(['examples/hello.ts', '--bind', '127.0.0.1:0', '-w', '2', '--metrics-bind', '127.0.0.1:0']);
  try {
    let metricsUrl = '';
    for (let i = 0; i < 100 && !metricsUrl; i++) {
      metricsUrl = /Metrics at: (http:\/\/\S+)/.exec(cli.stderr())?.[1] ?? '';
      if (!metricsUrl) await sleep(50);
    }
    assert.ok(metricsUrl, cli.stderr());
    for (let i = 0; i < 20; i++) assert.equal((await fetch(cli.url)).status, 200);
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = await (await fetch(metricsUrl)).text();
      if (/tsgi_requests_total\{status="200"\} 20\b/.test(text)) break;
      await sleep(100); // workers report with their heartbeat
    }
    assert.match(text, /tsgi_requests_total\{status="200"\} 20\b/);
    assert.match(text, /tsgi_request_duration_seconds_count 20\b/);
    const busy = Number(/tsgi_workers\{state="busy"\} (\d+)/.exec(text)?.[1]);
    const idle = Number(/tsgi_workers\{state="idle"\} (\d+)/.exec(text)?.[1]);
    assert.equal(busy + idle, 2, 'both workers are counted');
    assert.equal((await fetch(metricsUrl.replace('/metrics', '/other'))).status, 404);
  } finally {
    await cli.stop();
  }
});

it('serves HTTPS on an HTTP bind with --certfile and --keyfile', { timeout: 60_000, skip: needs('openssl') }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], {
    stdio: 'ignore',
  });
  const cli = await startCli(['examples/environ.ts', '--bind', '127.0.0.1:0', '--certfile', cert, '--keyfile', key]);
  try {
    assert.match(cli.stderr(), /Listening at: https:\/\/127\.0\.0\.1:\d+/);
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: cli.port, path: '/tls', ca: readFileSync(cert), servername: 'localhost' }, (res) => {
          let data = '';
          res.on('data', (d) => (data += d));
          res.on('end', () => resolve(data));
        })
        .on('error', reject);
    });
    assert.match(body, /\nwsgi\.url_scheme:https\n/);
    assert.match(body, /\nPATH_INFO:\/tls\n/);
  } finally {
    await cli.stop();
  }
});
