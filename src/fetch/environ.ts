// The environ of a Fetch Request, built by environFromHead (src/protocol/environ.ts) as the HTTP door's
// is, with Input over the body and its declared length. A Request has no socket, so what the HTTP door
// takes from the connection comes from the URL here (scheme, SERVER_NAME, SERVER_PORT: the URL's host
// and port stand for the local end) unless the options say otherwise, and REMOTE_ADDR from the
// runtime's connection info when it passes one (see `defaultRemote`).
import type { Environ } from '../spec.js';
import { ClientError } from '../runner/handler.js';
import { Input, type ByteSource } from '../runner/input.js';
import { checkContentLength, environFromHead, type HeadBase } from '../protocol/environ.js';
import { splitTarget } from '../protocol/target.js';
import { VERSION } from '../version.js';

/** A peer address as runtimes report it. */
export interface RemoteInfo {
  address?: string;
  port?: number | string;
}

declare module '../spec.js' {
  interface EnvironExtensions {
    /** The Fetch Request itself (`toFetchHandler`): Workers' `request.cf`, say. */
    'tsgi.fetch.request'?: Request;
    /** The runtime's second handler argument (Workers' bindings), when it passed one. */
    'tsgi.fetch.env'?: unknown;
    /** The runtime's third handler argument (Workers' execution context), when it passed one. */
    'tsgi.fetch.ctx'?: unknown;
  }
}

/** Finds the client's address from what the runtime passed next to the Request. */
export type RemoteResolver = (request: Request, env: unknown, ctx: unknown) => RemoteInfo | string | null | undefined;

/** Per-handler values every environ shares; serverName/serverPort '' take the URL's. */
export interface FetchBase extends HeadBase {
  remote: RemoteResolver;
}

export const SOFTWARE = `tsgi/${VERSION}`;

/**
 * The runtimes' own ways to tell the peer, duck-typed so nothing here imports them:
 * @hono/node-server passes `{ incoming }` (an IncomingMessage), Bun passes its server
 * (`server.requestIP(request)`), Deno passes `{ remoteAddr: { hostname, port } }`.
 */
export const defaultRemote: RemoteResolver = (request, env) => {
  if (env === null || typeof env !== 'object') return undefined;
  const e = env as {
    incoming?: { socket?: { remoteAddress?: string; remotePort?: number } };
    requestIP?: (r: Request) => RemoteInfo | null;
    remoteAddr?: { hostname?: string; port?: number };
  };
  const socket = e.incoming?.socket;
  if (socket !== undefined) return { address: socket.remoteAddress, port: socket.remotePort };
  if (typeof e.requestIP === 'function') return e.requestIP(request) ?? undefined;
  if (e.remoteAddr !== undefined) return { address: e.remoteAddr.hostname, port: e.remoteAddr.port };
  return undefined;
};

/** The body of a Request as a ByteSource; the reader is taken on the first pull. */
export class StreamSource implements ByteSource {
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  constructor(private readonly stream: ReadableStream<Uint8Array>) {}

  pull(): Promise<Uint8Array | null> {
    const reader = (this.reader ??= this.stream.getReader());
    return reader.read().then(
      (r) => (r.done ? null : toUint8(r.value)),
      (err: unknown) => {
        throw new ClientError(400, `the request body could not be read: ${(err as Error)?.message ?? String(err)}`);
      },
    );
  }
}

function toUint8(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`a request body chunk must be bytes (got ${typeof v})`);
}

/** Splits `scheme://authority/target` without a URL parse (the Request's URL is already normalized). */
function splitUrl(url: string): [scheme: string, authority: string, target: string] {
  const sep = url.indexOf('://');
  if (sep === -1) return ['http', '', url.charCodeAt(0) === 47 ? url : '/'];
  const scheme = url.slice(0, sep).toLowerCase();
  let end = sep + 3;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 || c === 63 || c === 35) break; // '/', '?', '#'
    end++;
  }
  let authority = url.slice(sep + 3, end);
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1);
  let target = url.slice(end);
  // A fragment is in the URL object but never on the wire.
  const hash = target.indexOf('#');
  if (hash !== -1) target = target.slice(0, hash);
  if (target.charCodeAt(0) !== 47) target = '/' + target;
  return [scheme, authority, target];
}

/** [hostname, port] of an authority (IPv6 brackets removed; port '' when it names none). */
function splitAuthority(authority: string): [string, string] {
  const close = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  let host = authority;
  let port = '';
  if (colon > close) {
    host = authority.slice(0, colon);
    port = authority.slice(colon + 1);
  }
  if (host.charCodeAt(0) === 91) host = host.slice(1, -1);
  return [host, port];
}

export function requestEnviron(request: Request, base: FetchBase, env: unknown, ctx: unknown): Environ {
  const [scheme, authority, target] = splitUrl(request.url);
  const [path, query] = splitTarget(target);
  const [host, port] = splitAuthority(authority);
  const method = request.method;
  const remote = base.remote(request, env, ctx);
  const info = typeof remote === 'string' ? { address: remote } : (remote ?? undefined);
  const rawHeaders: string[] = [];
  // A Headers object has combined repeated fields already (with ', '), all but Set-Cookie.
  for (const [name, value] of request.headers) rawHeaders.push(name, value);
  const environ = environFromHead(
    {
      method,
      target,
      path,
      query,
      protocol: 'HTTP/1.1',
      rawHeaders,
      scheme: scheme === 'https' ? 'https' : 'http',
      peer: { remoteAddress: info?.address, remotePort: info?.port, localAddress: host, localPort: port },
    },
    base,
  );
  environ['tsgi.fetch.request'] = request;
  if (env !== undefined) environ['tsgi.fetch.env'] = env;
  if (ctx !== undefined) environ['tsgi.fetch.ctx'] = ctx;
  // A Request's URL is where Host went (most runtimes keep the header as well; undici's own does not).
  if (environ.HTTP_HOST === undefined && authority !== '') environ.HTTP_HOST = authority;
  // No HTTP/1 parser has seen this Request's fields: Content-Length gets the CGI doors' check.
  const length = environ.CONTENT_LENGTH;
  if (length !== undefined) checkContentLength(length);
  if (method !== 'GET' && method !== 'HEAD' && length !== '0') {
    const body = request.body;
    if (body !== null) {
      environ['wsgi.input'] = new Input(new StreamSource(body), length !== undefined ? Number(length) : Infinity);
    }
  }
  return environ;
}
