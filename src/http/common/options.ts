// The HTTP doors' options and their defaults (both engines).
import type { Logger } from '../../runner/log.js';
import { OPTION_DEFAULTS as D } from '../../settings/defaults.js';

export interface HttpOptions {
  /** SERVER_NAME; defaults to the bind address. Never taken from the Host header. */
  serverName?: string;
  /** SCRIPT_NAME for every request (the application's mount point behind a proxy). */
  scriptName?: string;
  /** wsgi.url_scheme. */
  scheme?: 'http' | 'https';
  /** wsgi.multiprocess: true when several workers serve the same application. */
  multiprocess?: boolean;
  /** The longest request target, in bytes; longer ones get 414. */
  limitRequestLine?: number;
  /** The most header fields in a request; more get 431. */
  limitRequestFields?: number;
  /** The largest request head (request line and headers), in bytes; larger ones get 431. */
  maxHeaderSize?: number;
  /** Milliseconds for the whole request head to arrive (slowloris defence); then 408. */
  headersTimeout?: number;
  /** Milliseconds the body may stall while the application waits for it; then 408. */
  bodyTimeout?: number;
  /** Milliseconds an idle keep-alive connection stays open (above 60 s: load balancers' idle timeout). */
  keepAliveTimeout?: number;
  /** Milliseconds for a whole request (head and body) to arrive; 0 for no limit. */
  requestTimeout?: number;
  /**
   * Milliseconds the application may take to start its response; then 503 and the connection
   * closes (0: no limit). A response that has started (a stream) is never cut by it.
   */
  responseTimeout?: number;
  /**
   * Milliseconds a response may wait for the client to read any of it; then the connection is cut and
   * the body closed (0: no limit). The keep-alive timeout starts only once the response is sent.
   */
  sendTimeout?: number;
  /** Milliseconds a TLS client has to complete its handshake. */
  handshakeTimeout?: number;
  /** The error log. */
  log?: Logger;
}

/** The settings table's defaults (src/settings/table.ts), in the options' units (milliseconds, bytes). */
export const HTTP_DEFAULTS = {
  limitRequestLine: D.limitRequestLine,
  limitRequestFields: D.limitRequestFields,
  maxHeaderSize: D.maxHeaderSize,
  headersTimeout: D.headersTimeout,
  bodyTimeout: D.bodyTimeout,
  keepAliveTimeout: D.keepAlive,
  requestTimeout: D.requestTimeout,
  responseTimeout: D.responseTimeout,
  sendTimeout: D.sendTimeout,
  handshakeTimeout: D.handshakeTimeout,
} as const;
