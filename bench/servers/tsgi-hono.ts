// The bridge benchmark's tsgi row: the Hono hello-world app of bench/servers/hono-node-server.mjs,
// hosted by tsgi through fromFetchHandler. Like @hono/node-server (which does it by default), it puts
// a lightweight Response in place of the global one, so `c.text()` answers without a stream;
// BENCH_TSGI_HONO_NATIVE=1 keeps the runtime's own Response instead.
//   node dist/cli/main.js bench/servers/tsgi-hono.ts --bind 127.0.0.1:8000
// (npm run bench serves it type-stripped to JavaScript, like the other tsgi apps: compileApps.)
import { Hono } from 'hono';
import { fromFetchHandler } from 'tsgi/fetch';

const app = new Hono();
app.get('/', (c) => c.text('Hello, World!\n'));

export const application = fromFetchHandler(app, { lightweightResponse: process.env.BENCH_TSGI_HONO_NATIVE !== '1' });
