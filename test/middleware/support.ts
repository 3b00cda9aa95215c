// Shared by the middleware tests: a real tsgi HTTP server on a free port, and a raw HTTP client
// (node:http) that, unlike fetch, leaves Content-Encoding alone and shows every header as sent.
import http from 'node:http';
import { serve, type ServerHandle } from '../../src/http/serve.js';
import { silentLogger } from '../../src/runner/log.js';
import type { Application } from '../../src/spec.js';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body bytes as received (de-chunked, never decompressed). */
  body: Buffer;
  /** Each data event, in order. */
  chunks: Buffer[];
  text: string;
}

export interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Called for each body data event as it arrives. */
  onChunk?: (chunk: Buffer) => void;
}

/** One request over a fresh connection. */
export function httpRequest(url: string, options: RawOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => {
        chunks.push(d);
        options.onChunk?.(d);
      });
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, chunks, text: body.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Runs `fn` against `app` served on 127.0.0.1 with a free port, then stops the server. */
export async function withServer<T>(app: Application, fn: (server: ServerHandle) => Promise<T>): Promise<T> {
  const server = await serve(app, { host: '127.0.0.1', port: 0, log: silentLogger });
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
