// hono on @hono/node-server serving the bench apps:   node bench/servers/hono.mjs PORT APP
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { CHUNK, CHUNKS, MIB, args, environDump, listening } from './common.mjs';
import { NOT_FOUND_BODY, NOT_FOUND_TYPE, ROUTES, ROUTE_TYPE, paramNames, routeBody } from '../github-routes.mjs';

const { port, app } = args();
const server = new Hono();

switch (app) {
  case 'hello':
    server.get('/', (c) => c.text('Hello, World!\n'));
    break;
  case 'environ':
    // @hono/node-server puts the IncomingMessage in c.env.incoming.
    server.get('/', (c) => c.body(environDump(c.env.incoming, port), 200, { 'Content-Type': 'text/plain' }));
    break;
  case 'mib':
    server.get('/', (c) => c.body(MIB, 200, { 'Content-Type': 'application/octet-stream' }));
    break;
  case 'upload':
    server.post('/', async (c) => c.text(String((await c.req.arrayBuffer()).byteLength)));
    break;
  case 'stream':
    server.get('/', (c) => {
      let i = 0;
      const body = new ReadableStream({
        pull(controller) {
          if (i++ < CHUNKS) controller.enqueue(CHUNK);
          else controller.close();
        },
      });
      return c.body(body, 200, { 'Content-Type': 'application/octet-stream' });
    });
    break;
  case 'routes':
    // new Hono()'s default router (SmartRouter: RegExpRouter for this table).
    for (const [method, rule] of ROUTES) {
      const names = paramNames(rule);
      server.on(method, rule, (c) =>
        c.body(
          routeBody(
            rule,
            names.map((n) => c.req.param(n)),
          ),
          200,
          { 'Content-Type': ROUTE_TYPE },
        ),
      );
    }
    server.notFound((c) => c.body(NOT_FOUND_BODY, 404, { 'Content-Type': NOT_FOUND_TYPE }));
    break;
}

serve({ fetch: server.fetch, port, hostname: '127.0.0.1' }, () => listening(port));
