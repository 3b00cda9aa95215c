// Both HTTP engines side by side, serving an environ-dump application, and a raw exchange that knows
// how many responses to wait for: for the tests that hold the engines to one verdict per request
// (test/protocol/gunicorn-corpus.test.ts, test/protocol/parity.test.ts).
import net from 'node:net';
import type { Application, Environ } from '../../src/spec.js';
import { serve, type ServeOptions, type ServerHandle } from '../../src/http/serve.js';
import type { Logger } from '../../src/runner/log.js';
import { parseResponses, pieces, type ParsedResponse, type Split } from '../http/raw-client.js';

export const ENGINES = ['net', 'node'] as const;
export type EngineName = (typeof ENGINES)[number];

/** What the dump application answers: the environ a parse decides, and the body as read. */
export interface Dump {
  env: Record<string, string>;
  body: string;
}

const DUMPED = new Set(['REQUEST_METHOD', 'PATH_INFO', 'QUERY_STRING', 'SERVER_PROTOCOL', 'RAW_URI', 'CONTENT_TYPE', 'CONTENT_LENGTH']);

/** Answers 200 with the Dump of each request as JSON (latin-1 strings, sent as UTF-8). */
export const dumpApp: Application = async (environ: Environ, start) => {
  const body = await environ['wsgi.input'].read();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(environ)) if (typeof v === 'string' && (DUMPED.has(k) || k.startsWith('HTTP_'))) env[k] = v;
  const dump: Dump = { env, body: Buffer.from(body).toString('latin1') };
  start('200 OK', [['Content-Type', 'application/json; charset=utf-8']]);
  return [Buffer.from(JSON.stringify(dump), 'utf8')];
};

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {} };

/** One server per engine, same options. */
export async function startBoth(options: ServeOptions = {}): Promise<Record<EngineName, ServerHandle>> {
  const [a, b] = await Promise.all(ENGINES.map((engine) => serve(dumpApp, { host: '127.0.0.1', port: 0, log: quiet, ...options, engine })));
  return { net: a!, node: b! };
}

export interface Outcome {
  responses: ParsedResponse[];
  closed: boolean;
  timedOut: boolean;
}

/**
 * Sends `bytes` (cut as `split` says) and reads until the server closes, or until `responses`
 * responses came and then `graceMs` passed without a close, or `timeoutMs`.
 */
export function talk(port: number, bytes: Buffer, opts: { split?: Split; responses?: number; graceMs?: number; timeoutMs?: number } = {}): Promise<Outcome> {
  const want = opts.responses ?? 1;
  // Answers to HEAD carry no content (a refusal's Content-Length included).
  const head = /^[\r\n]*HEAD /.test(bytes.toString('latin1', 0, 32));
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    const chunks: Buffer[] = [];
    let done = false;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const finish = (closed: boolean, timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(grace);
      socket.destroy();
      resolve({ responses: parseResponses(Buffer.concat(chunks), closed, head).responses, closed, timedOut });
    };
    const deadline = setTimeout(() => finish(false, true), opts.timeoutMs ?? 5000);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (grace === undefined && parseResponses(Buffer.concat(chunks), false, head).responses.length >= want) {
        grace = setTimeout(() => finish(false, false), opts.graceMs ?? 0);
      }
    });
    socket.on('end', () => finish(true, false));
    socket.on('close', () => finish(true, false));
    socket.on('error', () => finish(true, false));
    socket.on('connect', async () => {
      for (const piece of pieces(bytes, opts.split ?? { kind: 'whole' })) {
        if (done || !socket.writable) return;
        socket.write(piece);
        await new Promise<void>((r) => setImmediate(r));
      }
    });
  });
}

/** A one-line summary of an outcome that two engines can be compared on. */
export function verdict(o: Outcome): string {
  if (o.responses.length === 0) return o.timedOut ? 'no answer (open)' : 'closed without an answer';
  const first = o.responses[0]!;
  if (first.status >= 400) return `refused ${first.status}${o.closed ? ', closed' : ', left open'}`;
  return o.responses.map((r) => `${r.status} ${r.body.toString('utf8')}`).join(' | ');
}
