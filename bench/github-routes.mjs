// The 50 GitHub-API-like routes of the routing benchmarks (the shape of Hono's own router benchmark:
// 23 static rules, the rest with one to three parameters), the request paths they are measured with,
// and the bytes every server of `npm run bench`'s `routes` scenario answers. Plain JavaScript so that
// the Node servers (bench/servers/*.mjs), the tsgi app (bench/apps/routes.ts), bench/routing.ts and
// bench/run.mjs all read the one table. Rules are written `:name`; tsgi's `<name>` is derived from it.
// (`/gist/:id`, not `/gists/:id`: Hono's RegExpRouter refuses a parameter next to the static `/gists/public`.)

/** [method, rule]: 50 routes. */
export const ROUTES = [
  ['GET', '/'],
  ['GET', '/user'],
  ['GET', '/user/repos'],
  ['GET', '/user/orgs'],
  ['GET', '/user/keys'],
  ['POST', '/user/keys'],
  ['GET', '/user/emails'],
  ['GET', '/user/followers'],
  ['GET', '/user/following'],
  ['GET', '/user/starred'],
  ['GET', '/user/subscriptions'],
  ['GET', '/user/issues'],
  ['GET', '/issues'],
  ['GET', '/gists'],
  ['POST', '/gists'],
  ['GET', '/gists/public'],
  ['GET', '/gists/starred'],
  ['GET', '/events'],
  ['GET', '/notifications'],
  ['GET', '/emojis'],
  ['GET', '/rate_limit'],
  ['GET', '/meta'],
  ['GET', '/feeds'],
  ['GET', '/users/:user'],
  ['GET', '/users/:user/repos'],
  ['GET', '/users/:user/orgs'],
  ['GET', '/users/:user/gists'],
  ['GET', '/users/:user/followers'],
  ['GET', '/users/:user/following/:target'],
  ['GET', '/users/:user/keys'],
  ['GET', '/users/:user/events'],
  ['GET', '/users/:user/received_events'],
  ['GET', '/orgs/:org'],
  ['GET', '/orgs/:org/repos'],
  ['GET', '/orgs/:org/members'],
  ['GET', '/orgs/:org/members/:user'],
  ['GET', '/orgs/:org/teams'],
  ['GET', '/teams/:id'],
  ['GET', '/teams/:id/members'],
  ['GET', '/gist/:id'],
  ['PATCH', '/gist/:id'],
  ['DELETE', '/gist/:id'],
  ['GET', '/gist/:id/star'],
  ['GET', '/repos/:owner/:repo'],
  ['GET', '/repos/:owner/:repo/issues'],
  ['GET', '/repos/:owner/:repo/issues/:number'],
  ['GET', '/repos/:owner/:repo/pulls'],
  ['GET', '/repos/:owner/:repo/pulls/:number'],
  ['GET', '/repos/:owner/:repo/commits/:sha'],
  ['GET', '/repos/:owner/:repo/branches/:branch'],
];

/**
 * The requests, in turn: static, parameterised, deep, and one miss. [method, path, the rule it
 * matches (null: 404), its parameters in the rule's order].
 */
export const REQUESTS = [
  ['GET', '/user', '/user', []],
  ['GET', '/user/starred', '/user/starred', []],
  ['GET', '/rate_limit', '/rate_limit', []],
  ['GET', '/users/octocat', '/users/:user', ['octocat']],
  ['GET', '/users/octocat/following/hubot', '/users/:user/following/:target', ['octocat', 'hubot']],
  ['GET', '/orgs/acme/members/ann', '/orgs/:org/members/:user', ['acme', 'ann']],
  ['DELETE', '/gist/abc123', '/gist/:id', ['abc123']],
  ['GET', '/repos/hono/hono/issues/42', '/repos/:owner/:repo/issues/:number', ['hono', 'hono', '42']],
  ['GET', '/repos/pallets/werkzeug/branches/main', '/repos/:owner/:repo/branches/:branch', ['pallets', 'werkzeug', 'main']],
  ['GET', '/no/such/route', null, []],
];

/** The parameter names of a rule, in order: `/users/:user/following/:target` -> ['user', 'target']. */
export const paramNames = (rule) => [...rule.matchAll(/:(\w+)/g)].map((m) => m[1]);

/** The same rule in tsgi/routing's (Werkzeug's) syntax: `/users/<user>`. */
export const tsgiRule = (rule) => rule.replace(/:(\w+)/g, '<$1>');

/** The body of a match: the rule, then `name=value` per parameter, each on its own line. */
export function routeBody(rule, values) {
  let s = `${rule}\n`;
  paramNames(rule).forEach((name, i) => (s += `${name}=${values[i]}\n`));
  return s;
}

export const ROUTE_TYPE = 'text/plain; charset=utf-8';

// A miss: the page tsgi/exceptions' NotFound renders for a client that states no Accept (wrk), which
// the other servers send as a constant, so that every row answers the miss with the same bytes.
export const NOT_FOUND_TYPE = 'text/html; charset=utf-8';
export const NOT_FOUND_BODY =
  '<!doctype html>\n<html lang="en">\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n' +
  '<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n';
