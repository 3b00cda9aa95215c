// The bridge benchmark's reference: one Hono hello-world app hosted by @hono/node-server, its own
// Node adapter (defaults: the lightweight global Request/Response). bench/servers/tsgi-hono.ts hosts
// the very same app in tsgi through fromFetchHandler.
//   node bench/servers/hono-node-server.mjs PORT [hello]
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { args, listening } from './common.mjs';

const { port } = args();
const app = new Hono();
app.get('/', (c) => c.text('Hello, World!\n'));

serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => listening(port));
