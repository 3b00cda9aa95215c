// Builds the environ for a request that node:http (llhttp) has parsed, following the five Python
// servers where they agree and research/oracle.md's "adopt" column where they do not.
// Request headers come from req.rawHeaders: req.headers merges and drops, and we need to see every
// line (duplicate Host, underscores) to decide.
import type { IncomingMessage } from 'node:http';
import type { Environ, ErrorStream, FileWrapperFactory, InputStream } from '../../spec.js';
import { WSGI_VERSION } from '../../spec.js';
import { splitTarget } from '../../protocol/target.js';
import { headerKey } from '../../protocol/names.js';

/** Per-server values that every environ shares. */
export interface EnvironBase {
  serverName: string;
  serverPort: string;
  scheme: string;
  scriptName: string;
  software: string;
  errors: ErrorStream;
  multiprocess: boolean;
  fileWrapper: FileWrapperFactory;
}

/** A request the door refuses before the application sees it. */
export class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What buildEnviron reads of a parsed request: node:http's IncomingMessage has it, and so does the
 * net engine's own head (src/protocol/head.ts).
 */
export interface RequestHead {
  readonly url?: string | undefined;
  readonly method?: string | undefined;
  readonly httpVersion: string;
  /** [name, value, name, value, ...] as received. */
  readonly rawHeaders: readonly string[];
  readonly socket: { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined };
}

export function buildEnviron(req: RequestHead | IncomingMessage, base: EnvironBase, input: InputStream): Environ {
  const target = req.url ?? '/';
  const [pathInfo, query] = splitTarget(target);
  const environ: Environ = {
    REQUEST_METHOD: req.method ?? 'GET',
    SCRIPT_NAME: base.scriptName,
    PATH_INFO: pathInfo,
    QUERY_STRING: query,
    SERVER_NAME: base.serverName,
    SERVER_PORT: base.serverPort,
    SERVER_PROTOCOL: 'HTTP/' + req.httpVersion,
    SERVER_SOFTWARE: base.software,
    REQUEST_URI: target,
    RAW_URI: target,
    'wsgi.version': WSGI_VERSION,
    'wsgi.url_scheme': base.scheme,
    'wsgi.input': input,
    'wsgi.errors': base.errors,
    'wsgi.multithread': false,
    'wsgi.multiprocess': base.multiprocess,
    'wsgi.run_once': false,
    'wsgi.file_wrapper': base.fileWrapper,
    // gunicorn and waitress always set it: the body always ends with an EOF we can give.
    'wsgi.input_terminated': true,
  };
  // Absent, not empty, when the transport has no peer address (a Unix socket): PEP 3333 R13.
  const socket = req.socket;
  let remote = socket.remoteAddress;
  if (remote !== undefined) {
    if (remote.startsWith('::ffff:')) remote = remote.slice(7); // IPv4 client on a dual-stack socket
    environ.REMOTE_ADDR = remote;
    environ.REMOTE_PORT = String(socket.remotePort);
  }
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const key = headerKey(name);
    if (key === null) continue;
    const value = raw[i + 1]!;
    const prev = environ[key] as string | undefined;
    if (prev === undefined) environ[key] = value;
    else if (key === 'HTTP_HOST') throw new BadRequest(400, 'more than one Host header');
    else if (key === 'CONTENT_LENGTH') throw new BadRequest(400, 'more than one Content-Length header');
    else environ[key] = prev + (key === 'HTTP_COOKIE' ? '; ' : ',') + value;
  }
  return environ;
}
