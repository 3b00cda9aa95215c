// What both HTTP engines' doors hold (src/http/node on node:http, src/http/net on node:net): the options with
// their defaults, the environ's per-server values, the count of responses in progress for a
// graceful stop, the sockets that may carry one request only, and the raw error answers.
import os from 'node:os';
import type { Socket } from 'node:net';
import type { Application } from '../../spec.js';
import { LogErrors, streamLogger, type Logger } from '../../runner/log.js';
import { EMPTY_INPUT } from '../../runner/input.js';
import { FileWrapper } from '../../util.js';
import { VERSION } from '../../version.js';
import type { EnvironBase } from './environ.js';
import { HTTP_DEFAULTS, type HttpOptions } from './options.js';
import { reasonPhrase } from '../../protocol/status.js';

/**
 * A complete error response, written raw on the socket, that closes the connection. `bodyless` for
 * an answer to HEAD (RFC 9110 §9.3.2: no content; Content-Length stays, as node:http sends it).
 */
export function rawError(status: number, bodyless = false): string {
  const reason = reasonPhrase(status);
  const body = `${reason}\n`;
  return `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${bodyless ? '' : body}`;
}

export class DoorCore {
  readonly log: Logger;
  readonly base: EnvironBase;
  readonly opts: Required<Pick<HttpOptions, keyof typeof HTTP_DEFAULTS>>;
  /** Requests whose responses are not finished yet. */
  inFlight = 0;
  /** Set while stopping: responses tell the client the connection closes. */
  draining = false;
  private idleWaiters: Array<() => void> = [];
  /** Sockets that may carry one request only (wsgiref's handleRequest()). */
  private readonly oneShot = new WeakSet<Socket>();
  /** Whether any socket was ever marked one-shot: a server that never uses handleRequest() asks no WeakSet per request. */
  private anyOneShot = false;

  /** Marks `socket` as carrying one request only. */
  markOneShot(socket: Socket): void {
    this.anyOneShot = true;
    this.oneShot.add(socket);
  }

  /** Whether `socket` may carry one request only. */
  isOneShot(socket: Socket): boolean {
    return this.anyOneShot && this.oneShot.has(socket);
  }

  constructor(
    readonly app: Application,
    options: HttpOptions,
  ) {
    this.log = options.log ?? streamLogger();
    this.opts = { ...HTTP_DEFAULTS };
    for (const k of Object.keys(HTTP_DEFAULTS) as Array<keyof typeof HTTP_DEFAULTS>) {
      const v = options[k];
      if (v !== undefined) this.opts[k] = v;
    }
    this.base = {
      serverName: options.serverName ?? '',
      serverPort: '',
      scheme: options.scheme ?? 'http',
      scriptName: options.scriptName ?? '',
      software: `tsgi/${VERSION}`,
      errors: new LogErrors(this.log),
      multiprocess: options.multiprocess ?? false,
      fileWrapper: FileWrapper,
      input: EMPTY_INPUT,
    };
  }

  /** Sets SERVER_NAME/SERVER_PORT from the bound address. */
  bound(host: string, port: number): void {
    // SERVER_NAME must never be empty (PEP 3333); an empty bind host means every interface.
    if (!this.base.serverName) this.base.serverName = host || os.hostname();
    this.base.serverPort = String(port);
  }

  /** A response in progress is over. */
  finished(): void {
    if (--this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves when no response is in progress. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
