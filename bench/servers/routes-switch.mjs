// The node:http reference of the `routes` scenario matches by hand: a switch over the path's segments
// for the 50 routes of bench/github-routes.mjs, the least code a Node server can route them with.
// It returns [rule, values] or null (a miss, or a method the path does not take: answered 404, where
// the routers answer 405; the benchmark's mix has no such request). Parameters are taken as they come
// (no percent-decoding: the mix has none to decode).
import { ROUTES } from '../github-routes.mjs';

const STATIC = new Map(ROUTES.filter(([, rule]) => !rule.includes(':')).map(([method, rule]) => [`${method} ${rule}`, rule]));

export function matchRoute(method, path) {
  const rule = STATIC.get(`${method} ${path}`);
  if (rule !== undefined) return [rule, []];
  const s = path.split('/'); // s[0] is ''
  const n = s.length;
  const a = s[2];
  if (n < 3 || !a) return null;
  if (method !== 'GET' && !(s[1] === 'gist' && n === 3 && (method === 'PATCH' || method === 'DELETE'))) return null;
  switch (s[1]) {
    case 'users':
      if (n === 3) return ['/users/:user', [a]];
      if (n === 4) {
        switch (s[3]) {
          case 'repos':
          case 'orgs':
          case 'gists':
          case 'followers':
          case 'keys':
          case 'events':
          case 'received_events':
            return [`/users/:user/${s[3]}`, [a]];
        }
        return null;
      }
      if (n === 5 && s[3] === 'following' && s[4]) return ['/users/:user/following/:target', [a, s[4]]];
      return null;
    case 'orgs':
      if (n === 3) return ['/orgs/:org', [a]];
      if (n === 4 && (s[3] === 'repos' || s[3] === 'members' || s[3] === 'teams')) return [`/orgs/:org/${s[3]}`, [a]];
      if (n === 5 && s[3] === 'members' && s[4]) return ['/orgs/:org/members/:user', [a, s[4]]];
      return null;
    case 'teams':
      if (n === 3) return ['/teams/:id', [a]];
      if (n === 4 && s[3] === 'members') return ['/teams/:id/members', [a]];
      return null;
    case 'gist':
      if (n === 3) return ['/gist/:id', [a]];
      if (n === 4 && s[3] === 'star') return ['/gist/:id/star', [a]];
      return null;
    case 'repos': {
      const b = s[3];
      if (!b) return null;
      if (n === 4) return ['/repos/:owner/:repo', [a, b]];
      if (n === 5 && (s[4] === 'issues' || s[4] === 'pulls')) return [`/repos/:owner/:repo/${s[4]}`, [a, b]];
      if (n === 6 && s[5]) {
        switch (s[4]) {
          case 'issues':
          case 'pulls':
            return [`/repos/:owner/:repo/${s[4]}/:number`, [a, b, s[5]]];
          case 'commits':
            return ['/repos/:owner/:repo/commits/:sha', [a, b, s[5]]];
          case 'branches':
            return ['/repos/:owner/:repo/branches/:branch', [a, b, s[5]]];
        }
      }
      return null;
    }
  }
  return null;
}
