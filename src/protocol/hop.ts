// The hop-by-hop header names an application may not send (PEP 3333 R41): the runner refuses them at
// startResponse, validate() reports them (R41), the Fetch and node:http bridges drop them from the
// responses they translate, and util.isHopByHop answers for applications. One set, so the four agree.
//
// The list is RFC 2616 §13.5.1's as wsgiref spells it (`trailers`, not the field's real name
// `trailer`), kept as is so that ported WSGI code and tests see the same answers.

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

/** Whether a header name (any case) is hop-by-hop. */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name.toLowerCase());
}
