// Serving one of the master's sockets in a worker, with the door its protocol names: HTTP (serve()),
// uwsgi (src/uwsgi) or FastCGI (src/fastcgi). The uwsgi and FastCGI doors are loaded only when a
// bind asks for them.
import net from 'node:net';
import type { Application } from '../spec.js';
import type { Logger } from '../runner/log.js';
import type { Settings } from '../settings/index.js';
import { toOptions } from '../settings/defaults.js';
import { serve } from '../http/serve.js';
import type { Protocol } from '../server/bind.js';

export interface Served {
  /** Stops accepting at once (closes this worker's copy of the listening socket). */
  stopAccepting(): unknown;
  /** Graceful: in-flight requests finish within gracefulTimeout, idle connections close now. */
  close(): Promise<void>;
}

export interface DoorContext {
  app: Application;
  settings: Settings;
  log: Logger;
  multiprocess: boolean;
  tls?: { cert: Buffer; key: Buffer };
}

function listenOn(server: net.Server, handle: object, backlog: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    (server.listen as (h: object, b: number, cb: () => void) => net.Server)(handle, backlog, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function graceful(server: net.Server, idle: () => Promise<void>, cut: () => void, graceMs: number): Promise<void> {
  if (server.listening) server.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([idle(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  cut();
}

/**
 * Closes the listening socket only. http.Server#close() (Node >= 19) also closes the idle keep-alive
 * connections at once, which is the race the drain exists to avoid (a client sending its next request
 * on one meets a reset): those are the door's to close, by the drain rule, in its graceful stop.
 */
function stopListening(server: net.Server): void {
  if (server.listening) net.Server.prototype.close.call(server);
}

export async function serveSocket(protocol: Protocol, handle: object, ctx: DoorContext): Promise<Served> {
  const s = ctx.settings;
  // The settings in the options' units (seconds to milliseconds), converted in one place.
  const o = toOptions(s);
  const graceMs = o.gracefulTimeout;
  if (protocol === 'http') {
    const h = await serve(ctx.app, {
      handle,
      backlog: s.backlog,
      log: ctx.log,
      multiprocess: ctx.multiprocess,
      serverName: s.serverName || undefined,
      scriptName: s.scriptName,
      limitRequestLine: o.limitRequestLine,
      limitRequestFields: o.limitRequestFields,
      maxHeaderSize: o.maxHeaderSize,
      headersTimeout: o.headersTimeout,
      bodyTimeout: o.bodyTimeout,
      requestTimeout: o.requestTimeout,
      responseTimeout: o.responseTimeout,
      engine: s.engine,
      keepAliveTimeout: o.keepAlive,
      sendTimeout: o.sendTimeout,
      handshakeTimeout: o.handshakeTimeout,
      gracefulTimeout: graceMs,
      ...(ctx.tls ? { tls: ctx.tls } : {}),
    });
    return { stopAccepting: () => stopListening(h.listener), close: () => h.close() };
  }
  if (protocol === 'uwsgi') {
    const { UwsgiDoor } = await import('../uwsgi/index.js');
    const door = new UwsgiDoor(ctx.app, {
      log: ctx.log,
      multiprocess: ctx.multiprocess,
      headerTimeout: o.headersTimeout,
      bodyTimeout: o.bodyTimeout,
      gracefulTimeout: graceMs,
    });
    const server = net.createServer({ allowHalfOpen: true }, door.onConnection);
    await listenOn(server, handle, s.backlog);
    door.listening(server.address());
    let closing: Promise<void> | undefined;
    return {
      stopAccepting: () => server.listening && void server.close(),
      close: () =>
        (closing ??= graceful(
          server,
          () => door.idle(),
          () => {
            for (const sock of door.sockets) sock.destroy();
          },
          graceMs,
        )),
    };
  }
  const { FastcgiDoor } = await import('../fastcgi/index.js');
  const door = new FastcgiDoor(ctx.app, {
    log: ctx.log,
    multiprocess: ctx.multiprocess,
    headerTimeout: o.headersTimeout,
    bodyTimeout: o.bodyTimeout,
    gracefulTimeout: graceMs,
  });
  const server = net.createServer({ allowHalfOpen: true }, door.onConnection);
  server.maxConnections = door.settings.maxConnections;
  await listenOn(server, handle, s.backlog);
  let closing: Promise<void> | undefined;
  return {
    stopAccepting: () => server.listening && void server.close(),
    close: () =>
      (closing ??= (async () => {
        door.drain();
        await graceful(
          server,
          () => door.settled(),
          () => door.cut(),
          graceMs,
        );
      })()),
  };
}
