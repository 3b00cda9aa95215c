// Starting and stopping a uwsgi listener: host:port, a Unix socket path, an inherited file descriptor
// (fd://N, socket activation) or a bound handle from the prefork master.
import net from 'node:net';
import type { Application } from '../spec.js';
import { clearUnixPath } from '../server/sockets.js';
import { UWSGI_DEFAULTS, UwsgiDoor, type UwsgiOptions } from './door.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const fs = process.getBuiltinModule('node:fs');

export interface UwsgiServerHandle extends AsyncDisposable {
  readonly server: net.Server;
  /** The bound address ('' on a Unix socket). */
  readonly host: string;
  /** The bound port (0 on a Unix socket). */
  readonly port: number;
  /** The Unix socket path, when bound to one. */
  readonly path: string | undefined;
  /** Stops accepting, lets in-flight requests finish (up to gracefulTimeout), closes every connection. */
  close(): Promise<void>;
}

type ListenTarget = net.ListenOptions | object;

function listen(server: net.Server, target: ListenTarget, backlog?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if ('port' in target || 'path' in target || 'fd' in target) {
      server.listen({ ...(target as net.ListenOptions), ...(backlog ? { backlog } : {}) }, done);
    } else {
      // A bound handle from the prefork master: net.Server.listen(handle, backlog, cb).
      (server.listen as (h: object, b: number | undefined, cb: () => void) => net.Server)(target, backlog, done);
    }
  });
}

async function stop(door: UwsgiDoor, server: net.Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([door.idle(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  // Finished connections still lingering, and requests past the grace period, are cut now.
  for (const s of door.sockets) s.destroy();
  await closed;
}

/** Serves `app` over the uwsgi protocol until close(). */
export async function serveUwsgi(app: Application, options: UwsgiOptions = {}): Promise<UwsgiServerHandle> {
  options.signal?.throwIfAborted();
  const door = new UwsgiDoor(app, options);
  // allowHalfOpen: a front end that half-closes after the request still gets its response.
  const server = net.createServer({ allowHalfOpen: true }, door.onConnection);
  let target: ListenTarget;
  let path: string | undefined;
  if (options.handle) target = options.handle;
  else if (options.fd !== undefined) target = { fd: options.fd };
  else if (options.path !== undefined) {
    path = options.path;
    // A dead server's socket file is replaced; a live one, or a file that is not a socket, never.
    await clearUnixPath(path, `uwsgi://unix:${path}`);
    target = { path };
  } else target = { host: options.host ?? UWSGI_DEFAULTS.host, port: options.port ?? UWSGI_DEFAULTS.port };
  await listen(server, target, options.backlog);
  door.listening(server.address());
  let host = '';
  let port = 0;
  const addr = server.address();
  if (addr !== null && typeof addr === 'object') {
    host = addr.address;
    port = addr.port;
  } else if (typeof addr === 'string') path = addr;
  if (path !== undefined && options.socketMode !== undefined) await fs.promises.chmod(path, options.socketMode);
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= stop(door, server, options.gracefulTimeout ?? UWSGI_DEFAULTS.gracefulTimeout));
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return { server, host, port, path, close, [Symbol.asyncDispose]: close };
}
