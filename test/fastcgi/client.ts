// A raw FastCGI client for tests: sends exact bytes (whole, byte by byte or in random pieces), then
// reads the records that come back until the server closes, or until enough END_REQUESTs arrived.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FCGI, KEEP_CONN, RecordParser, beginRequest, encodePairs, encodeRecord, encodeStream, parseEnd, type FcgiRecord } from '../../src/protocol/fastcgi.js';

/** The captured wire fixtures (copies of the shared capture set, see its README). */
export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

export type Split = 'whole' | 'bytes' | 'random';

/** Cuts `data` the way `split` says; `seed` makes the random cuts repeatable. */
export function pieces(data: Uint8Array, split: Split, seed = 1): Uint8Array[] {
  if (split === 'whole') return [data];
  if (split === 'bytes') return Array.from(data, (_, i) => data.subarray(i, i + 1));
  let s = seed >>> 0 || 1;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; ) {
    const n = 1 + Math.floor(rand() * 700);
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

export interface Reply {
  records: FcgiRecord[];
  /** True when the server closed the connection. */
  closed: boolean;
  socket: net.Socket;
}

export interface Exchange {
  /** Stop reading once this many END_REQUEST records arrived (the connection is left open). */
  ends?: number;
  /** Stop reading once this says so (checked after every read). */
  until?: (records: FcgiRecord[]) => boolean;
  /** Give up after this many ms (a bound, never an assertion). */
  timeoutMs?: number;
  /** Keep the socket open after the read (for a further exchange). */
  keep?: boolean;
  /** End our write side after sending. */
  halfClose?: boolean;
}

export function connect(target: number | string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = typeof target === 'number' ? net.connect(target, '127.0.0.1') : net.connect({ path: target });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends the pieces over `socket` (one write per piece, yielding between them), then reads the reply. */
export async function exchange(socket: net.Socket, parts: Uint8Array[], opts: Exchange = {}): Promise<Reply> {
  const records: FcgiRecord[] = [];
  let ends = 0;
  const parser = new RecordParser((r) => {
    records.push({ ...r, content: r.content.slice() });
    if (r.type === FCGI.END_REQUEST) ends++;
  });
  const done = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 10_000);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(closed);
    };
    const onData = (c: Buffer) => {
      parser.push(c);
      if ((opts.ends !== undefined && ends >= opts.ends) || opts.until?.(records)) finish(false);
    };
    const onClose = () => finish(true);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => {});
  });
  for (let i = 0; i < parts.length; i++) {
    if (socket.destroyed) break;
    socket.write(parts[i]!);
    // Yield now and then so that the pieces really arrive as separate reads.
    if (parts.length > 1 && i % 64 === 63) await new Promise((r) => setImmediate(r));
  }
  if (opts.halfClose) socket.end();
  const closed = await done;
  if (!opts.keep && !socket.destroyed) socket.destroy();
  return { records, closed, socket };
}

/** One connection, one exchange. */
export async function send(target: number | string, data: Uint8Array | Uint8Array[], opts: Exchange = {}): Promise<Reply> {
  const socket = await connect(target);
  return exchange(socket, Array.isArray(data) ? data : [data], opts);
}

// --- building requests -------------------------------------------------------------------------------

export interface Req {
  id?: number;
  keepConn?: boolean;
  params: Record<string, string> | Array<[string, string]>;
  stdin?: Uint8Array | string;
  /** Records of at most this many content bytes (PARAMS and STDIN). */
  max?: number;
}

/** BEGIN_REQUEST, PARAMS..., empty PARAMS, STDIN..., empty STDIN. */
export function request({ id = 1, keepConn = false, params, stdin, max }: Req): Buffer {
  const pairs = Array.isArray(params) ? params : Object.entries(params);
  const body = typeof stdin === 'string' ? Buffer.from(stdin, 'latin1') : (stdin ?? new Uint8Array(0));
  return Buffer.concat([
    beginRequest(id, 1, keepConn ? KEEP_CONN : 0),
    encodeStream(FCGI.PARAMS, id, encodePairs(pairs), max),
    encodeRecord(FCGI.PARAMS, id),
    encodeStream(FCGI.STDIN, id, body, max),
    encodeRecord(FCGI.STDIN, id),
  ]);
}

export const GET = (path: string, extra: Record<string, string> = {}) => ({
  REQUEST_METHOD: 'GET',
  SCRIPT_NAME: '',
  PATH_INFO: path,
  QUERY_STRING: '',
  SERVER_NAME: 'test',
  SERVER_PORT: '80',
  SERVER_PROTOCOL: 'HTTP/1.1',
  ...extra,
});

// --- reading replies ----------------------------------------------------------------------------------

export interface Response {
  id: number;
  /** The STDOUT stream. */
  stdout: Buffer;
  stderr: Buffer;
  /** Whether the empty STDOUT arrived before END_REQUEST. */
  stdoutEnded: boolean;
  appStatus: number;
  protocolStatus: number;
  /** The status and headers, parsed from the CGI head. */
  status: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Groups records into responses, one per END_REQUEST, in order. */
export function responses(records: FcgiRecord[]): Response[] {
  const out: Response[] = [];
  const open = new Map<number, { out: Buffer[]; err: Buffer[]; ended: boolean }>();
  const get = (id: number) => {
    let r = open.get(id);
    if (!r) open.set(id, (r = { out: [], err: [], ended: false }));
    return r;
  };
  for (const rec of records) {
    if (rec.type === FCGI.STDOUT) {
      const r = get(rec.requestId);
      if (rec.content.length === 0) r.ended = true;
      else r.out.push(Buffer.from(rec.content));
    } else if (rec.type === FCGI.STDERR) get(rec.requestId).err.push(Buffer.from(rec.content));
    else if (rec.type === FCGI.END_REQUEST) {
      const r = get(rec.requestId);
      open.delete(rec.requestId);
      const { appStatus, protocolStatus } = parseEnd(rec.content);
      const stdout = Buffer.concat(r.out);
      const cut = stdout.indexOf('\r\n\r\n');
      const headText = cut === -1 ? '' : stdout.subarray(0, cut).toString('latin1');
      const lines = headText ? headText.split('\r\n') : [];
      const headers = lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]);
      const status = headers.find(([n]) => n === 'Status')?.[1] ?? '';
      out.push({
        id: rec.requestId,
        stdout,
        stderr: Buffer.concat(r.err),
        stdoutEnded: r.ended,
        appStatus,
        protocolStatus,
        status,
        headers: headers.filter(([n]) => n !== 'Status'),
        body: cut === -1 ? Buffer.alloc(0) : stdout.subarray(cut + 4),
      });
    }
  }
  return out;
}
