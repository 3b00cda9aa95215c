// The environ of a request either HTTP engine parsed: node:http's IncomingMessage, or the net engine's
// own head (src/protocol/head.ts). Both give the same facts (method, target, httpVersion, rawHeaders);
// src/protocol/environ.ts turns them into the environ. Request headers come from rawHeaders: node's
// req.headers merges and drops, and the door needs every line (two Hosts, underscores) to decide.
import type { Environ } from '../../spec.js';
import { environFromHead, protocolName, type Endpoints, type HeadBase } from '../../protocol/environ.js';
import { splitTarget } from '../../protocol/target.js';

/** Per-server values every environ of an HTTP door shares. */
export interface EnvironBase extends HeadBase {
  /** wsgi.url_scheme: the door's, never from a request header. */
  scheme: string;
}

/** What requestEnviron reads of a parsed request head: IncomingMessage has it, so does the net engine's Head. */
export interface RequestHead {
  readonly url?: string | undefined;
  readonly method?: string | undefined;
  /** '1.0' or '1.1'. */
  readonly httpVersion: string;
  /** [name, value, name, value, ...] as received. */
  readonly rawHeaders: readonly string[];
}

/**
 * The environ of one request; `peer` is its socket. Throws ClientError(400) for two Host or two
 * Content-Length fields; `wsgi.input` is the empty input until the door gives the body.
 */
export function requestEnviron(req: RequestHead, peer: Endpoints, base: EnvironBase): Environ {
  const target = req.url ?? '/';
  const [path, query] = splitTarget(target);
  return environFromHead(
    { method: req.method ?? 'GET', target, path, query, protocol: protocolName(req.httpVersion), rawHeaders: req.rawHeaders, scheme: base.scheme, peer },
    base,
  );
}
