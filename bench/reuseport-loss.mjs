// Why tsgi's workers share one listening socket instead of one SO_REUSEPORT socket each (issue 15, -w 2):
// a worker that leaves (HUP, TTOU, --max-requests) stops listening, and on Linux the connections the
// kernel had already queued on a closing SO_REUSEPORT socket are reset, unless net.ipv4.tcp_migrate_req
// is 1 (Linux 5.14+, off by default), which moves them to another socket of the group. With one shared
// socket the queue outlives any one worker, so nothing is lost (test/prefork/keepalive.test.ts).
//
//   node bench/reuseport-loss.mjs [shared|reuse] [PORT]      (reuse needs Node >= 22.12: listen({ reusePort }))
//
// Two node:http workers (node:cluster, SCHED_NONE, as tsgi's workers accept); a client opens connections
// as fast as 50 at a time allow for 3 s (Connection: close); after 1 s worker 1 stops listening, as a
// draining worker does. Prints the answered and failed connections. Measured here (Linux 6.18, Node
// 24.21, tcp_migrate_req 0): shared 0 failed in 2 of 2 runs; reuse 1, 41, 7 and 14 resets in 5 runs
// (0 in one); with tcp_migrate_req 1, reuse 0 in 3 of 3 runs.
import cluster from 'node:cluster';
import http from 'node:http';
import net from 'node:net';

const mode = process.argv[2] ?? 'reuse';
const port = Number(process.argv[3] ?? 9181);
if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const workers = [cluster.fork(), cluster.fork()];
  let ready = 0;
  for (const w of workers) w.on('message', () => ++ready === 2 && load());
  function load() {
    let ok = 0;
    let failed = 0;
    let inflight = 0;
    const errors = {};
    const end = Date.now() + 3000;
    setTimeout(() => workers[0].send('close'), 1000);
    const go = () => {
      if (Date.now() > end) {
        if (inflight === 0) {
          console.log(`${mode}: ${ok} answered, ${failed} failed ${JSON.stringify(errors)}`);
          for (const w of workers) w.kill();
          process.exit(0);
        }
        return;
      }
      inflight++;
      const s = net.connect(port, '127.0.0.1');
      let got = '';
      s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      s.on('data', (d) => (got += d));
      s.on('error', (e) => (errors[e.code] = (errors[e.code] ?? 0) + 1));
      s.on('close', () => {
        inflight--;
        if (got.startsWith('HTTP/1.1 200')) ok++;
        else failed++;
        go();
      });
    };
    for (let i = 0; i < 50; i++) go();
  }
} else {
  const server = http.createServer((_req, res) => res.end('hi'));
  const up = () => process.send('up');
  if (mode === 'reuse') server.listen({ port, host: '127.0.0.1', reusePort: true, exclusive: true }, up);
  else server.listen(port, '127.0.0.1', up);
  process.on('message', () => server.close());
}
