// The tsgi app of `npm run bench`'s `routes` scenario: the 50 routes of bench/github-routes.mjs with
// tsgi/routing's routes(), each endpoint a tiny TSGI application answering its rule and its matched
// parameters as text (routeBody), the same bytes as bench/servers/{node-http,hono,fastify}.mjs. A miss
// is tsgi/routing's own 404 (NotFound's page).
//   npx tsgi bench/apps/routes.ts
// (The import climbs two levels so that it also resolves from .bench/apps/, where npm run bench puts
// this file type-stripped.)
import type { Application } from 'tsgi';
import { routes, withArgs } from 'tsgi/routing';
import { ROUTES, ROUTE_TYPE, paramNames, routeBody, tsgiRule } from '../../bench/github-routes.mjs';

function endpoint(rule: string): Application {
  const names = paramNames(rule);
  return withArgs<Record<string, string>>((_environ, startResponse, args) => {
    const body = Buffer.from(
      routeBody(
        rule,
        names.map((n) => args[n]),
      ),
    );
    startResponse('200 OK', [
      ['Content-Type', ROUTE_TYPE],
      ['Content-Length', String(body.length)],
    ]);
    return [body];
  });
}

const table: Record<string, Application> = {};
for (const [method, rule] of ROUTES) table[`${method} ${tsgiRule(rule)}`] = endpoint(rule);

export const application = routes(table);
