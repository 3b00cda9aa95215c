// The load generator of `npm run bench`'s 100 MiB multipart scenario, where wrk is the wrong tool: a
// request takes about a second, so wrk's fixed window (the requests that complete inside it) counts a
// handful, and drops the uploads cut off at its end while the server has spent CPU on them. This client
// posts one prebuilt body over CONNECTIONS keep-alive connections, each one request after another, for
// at least SECONDS, then lets the requests under way finish: the time is that of whole requests only.
//
//   node bench/clients/post-body.mjs URL BODY_FILE CONTENT_TYPE SECONDS CONNECTIONS TIMEOUT_SECONDS
//
// It prints one JSON line: requests, seconds, p50/p99 latency (ms), status counts, socket errors,
// and its own CPU-seconds (to tell when the client was the bottleneck).
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [url, bodyFile, contentType, secondsText, connectionsText, timeoutText] = process.argv.slice(2);
const seconds = Number(secondsText);
const connections = Number(connectionsText);
const timeoutMs = Number(timeoutText) * 1000;
if (!url || !bodyFile || !contentType || !(seconds > 0) || !(connections >= 1) || !(timeoutMs > 0)) {
  process.stderr.write('usage: node bench/clients/post-body.mjs URL BODY_FILE CONTENT_TYPE SECONDS CONNECTIONS TIMEOUT_SECONDS\n');
  process.exit(2);
}

const body = readFileSync(bodyFile);
const target = new URL(url);
// One socket per loop; a server that closes after each response (gunicorn's sync worker) gets a new one.
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const latencies = [];
const statuses = {};
const errors = { connect: 0, read: 0, write: 0, timeout: 0 };

function post() {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request({
      host: target.hostname,
      port: target.port,
      path: target.pathname + target.search,
      method: 'POST',
      agent,
      headers: { 'Content-Type': contentType, 'Content-Length': body.length },
    });
    const timer = setTimeout(() => {
      errors.timeout++;
      req.destroy(new Error('timeout'));
    }, timeoutMs);
    req.once('error', (err) => {
      clearTimeout(timer);
      if (err.message !== 'timeout') errors[/ECONNREFUSED/.test(err.message) ? 'connect' : 'write']++;
      resolve();
    });
    req.once('response', (res) => {
      res.resume();
      res.once('error', () => {
        clearTimeout(timer);
        errors.read++;
        resolve();
      });
      res.once('end', () => {
        clearTimeout(timer);
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
        resolve();
      });
    });
    req.end(body);
  });
}

const start = process.hrtime.bigint();
const deadline = start + BigInt(Math.round(seconds * 1e9));
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (process.hrtime.bigint() < deadline) await post();
  }),
);
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
agent.destroy();

latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] : NaN);
const cpu = process.cpuUsage();
process.stdout.write(
  JSON.stringify({
    requests: latencies.length,
    seconds: elapsed,
    bytes: body.length,
    p50: pct(50),
    p99: pct(99),
    statuses,
    errors,
    cpu: (cpu.user + cpu.system) / 1e6,
  }) + '\n',
);
