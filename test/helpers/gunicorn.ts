// gunicorn's request-parsing corpus (test/fixtures/gunicorn-requests, see its SOURCE.md): the raw
// requests, and what gunicorn's WSGI environ holds for each valid one, for the corpus and parity tests.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const CORPUS = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'gunicorn-requests');

interface Uri {
  raw: string;
  path: string;
  query: string;
  fragment: string;
}

/** One request of a valid case, as gunicorn parses it (names upper-cased, bodies as latin-1 text). */
export interface GunicornRequest {
  method: string;
  uri: Uri;
  version: [number, number];
  headers: Array<[string, string]>;
  body_latin1: string;
}

export interface Case {
  /** `valid/001`, `invalid/chunked_05`, … */
  id: string;
  kind: 'valid' | 'invalid';
  /** gunicorn settings the case runs under (empty: its defaults). */
  cfg: Record<string, unknown>;
  /** The bytes, with `Host` added to HTTP/1.1 requests that have none (tsgi's 400 there is right). */
  bytes: Buffer;
  /** Valid cases: the requests in order. */
  requests: GunicornRequest[];
  /** Invalid cases: gunicorn's exception. */
  error?: string;
}

/** The Host added to HTTP/1.1 requests without one (RFC 9112 §3.2 makes their 400 correct). */
export const ADDED_HOST = 'gunicorn.test';

/**
 * A `.http` file to bytes, as gunicorn's tests/treq.py reads it: the file's own line breaks are not
 * part of the request, and `\r\n`, `\0`, `\n`, `\t` and `\xHH` stand for those bytes.
 */
export function decodeHttpFile(text: string): Buffer {
  const s = text.replace(/\n/g, '').replace(/\\r\\n|\\0|\\n|\\t|\\x([0-9a-fA-F]{2})/g, (m, hex: string | undefined) => {
    if (hex !== undefined) return String.fromCharCode(parseInt(hex, 16));
    return m === '\\r\\n' ? '\r\n' : m === '\\0' ? '\0' : m === '\\n' ? '\n' : '\t';
  });
  return Buffer.from(s, 'latin1');
}

/** Inserts `Host` after the request line of each HTTP/1.1 request that has none. */
function addHost(bytes: Buffer, requests: GunicornRequest[]): Buffer {
  let text = bytes.toString('latin1');
  let from = 0;
  for (const r of requests) {
    // The method as sent may differ in case (gunicorn's casefold_http_method setting).
    const line = ` ${r.uri.raw} HTTP/${r.version[0]}.${r.version[1]}\r\n`;
    const at = text.indexOf(line, from);
    if (at === -1) throw new Error(`request line ${JSON.stringify(line)} not found`);
    from = at + line.length;
    if (r.version[1] !== 1 || r.headers.some(([n]) => n === 'HOST')) continue;
    text = text.slice(0, from) + `Host: ${ADDED_HOST}\r\n` + text.slice(from);
    r.headers.unshift(['HOST', ADDED_HOST]);
  }
  return Buffer.from(text, 'latin1');
}

export function loadCorpus(): Case[] {
  const exp = JSON.parse(readFileSync(path.join(CORPUS, 'expectations.json'), 'utf8')) as {
    valid: Record<string, { cfg: Record<string, unknown>; requests: GunicornRequest[] }>;
    invalid: Record<string, { cfg: Record<string, unknown>; error: string }>;
  };
  const cases: Case[] = [];
  for (const kind of ['valid', 'invalid'] as const) {
    for (const name of Object.keys(exp[kind]).sort()) {
      const raw = decodeHttpFile(readFileSync(path.join(CORPUS, kind, `${name}.http`), 'latin1'));
      const e = exp[kind][name]!;
      if (kind === 'valid') {
        const requests = structuredClone((e as { requests: GunicornRequest[] }).requests);
        // A PROXY-protocol case carries a PROXY line that only gunicorn's proxy_protocol setting reads.
        const bytes = 'proxy_protocol' in e.cfg ? raw : addHost(raw, requests);
        cases.push({ id: `valid/${name}`, kind, cfg: e.cfg, bytes, requests });
      } else {
        cases.push({ id: `invalid/${name}`, kind, cfg: e.cfg, bytes: raw, requests: [], error: (e as { error: string }).error });
      }
    }
  }
  return cases;
}

/** `%XX` to the byte, as gunicorn's unquote_to_wsgi_str does; anything else kept. */
function unquote(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** The part of the environ a request's parse decides, as gunicorn builds it from its parse. */
export function gunicornEnviron(r: GunicornRequest): Record<string, string> {
  const env: Record<string, string> = {
    REQUEST_METHOD: r.method,
    PATH_INFO: unquote(r.uri.path),
    QUERY_STRING: r.uri.query,
    SERVER_PROTOCOL: `HTTP/${r.version[0]}.${r.version[1]}`,
    RAW_URI: r.uri.raw,
  };
  for (const [name, value] of r.headers) {
    const key = name.replace(/-/g, '_');
    const k = key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH' ? key : `HTTP_${key}`;
    env[k] = k in env ? `${env[k]},${value}` : value;
  }
  return env;
}
