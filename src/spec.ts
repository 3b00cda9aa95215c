// The TSGI interface: PEP 3333 mapped onto TypeScript and asynchronous I/O.
// docs/SPEC.md is the prose of this file; the two must say the same thing.
// This module holds types and one constant only, so any runtime can import it.

/** A body chunk. A string is sent as UTF-8; bytes are sent as they are. */
export type Chunk = Uint8Array | string;

/**
 * Bytes tsgi hands to an application. They are backed by a plain `ArrayBuffer` (never a
 * `SharedArrayBuffer`), which is what the platform's own APIs ask for under the DOM lib's types
 * (`new Blob([bytes])`, `new Response(bytes)`, `crypto.subtle.digest`); a bare `Uint8Array`
 * means `Uint8Array<ArrayBufferLike>` and is refused there. Needs TypeScript 5.7 or later.
 */
export type Bytes = Uint8Array<ArrayBuffer>;

/**
 * What an application returns: a sync or async iterable of chunks, optionally with `close()`.
 * The server calls `close()` exactly once, however the response ends (PEP 3333 R7).
 */
export type Body = (Iterable<Chunk> | AsyncIterable<Chunk>) & { close?(): void | Promise<void> };

/** `[name, value]` pairs of native (latin-1) strings, in the order they go on the wire. */
export type HeaderList = Array<[name: string, value: string]>;

/** `write(chunk)` for legacy-style apps; resolves when the next chunk may follow (backpressure). */
export type Write = (chunk: Chunk) => Promise<void>;

/**
 * Any value describing the error in progress: the caught error itself, or a
 * Python-style `[type, value, traceback]` triple (its second element is rethrown).
 */
export type ExcInfo = unknown;

/**
 * The status line's code and reason phrase, `'200 OK'`: a number, one space, the phrase. The type
 * refuses `'200OK'` and `'200'` at compile time; the server checks the rest (three digits, R24).
 */
export type Status = `${number} ${string}`;

/** `startResponse(status, headers, excInfo?)`: hands status and headers to the server. */
export type StartResponse = (status: Status, headers: HeaderList, excInfo?: ExcInfo) => Write;

/** A TSGI application: PEP 3333's callable, allowed to return a Promise of its body. */
export type Application = (environ: Environ, startResponse: StartResponse) => Body | Promise<Body>;

/** Middleware wraps an application and returns an application. */
export type Middleware = (app: Application) => Application;

/** `wsgi.input`: the request body, never read past CONTENT_LENGTH. All reads are Promises. */
export interface InputStream extends AsyncIterable<Bytes> {
  /** Up to `size` bytes (fewer only at the end); all that is left when `size` is omitted or negative. */
  read(size?: number | null): Promise<Bytes>;
  /** One line including its `\n`, at most `size` bytes; empty at the end. */
  readline(size?: number | null): Promise<Bytes>;
  /** The remaining lines; stops once about `hint` bytes were read when `hint` > 0. */
  readlines(hint?: number | null): Promise<Bytes[]>;
  // Async iteration yields lines, as iterating a Python file does.
}

/** `wsgi.errors`: a text stream to the server's error log. */
export interface ErrorStream {
  write(text: string): void;
  writelines(lines: Iterable<string>): void;
  flush(): void;
}

/** A readable "file-like" object for `wsgi.file_wrapper` (only `read` is required). */
export interface FileLike {
  read(size: number): Uint8Array | Promise<Uint8Array>;
  close?(): void | Promise<void>;
  /** An open file descriptor: lets the server stream straight from the file. */
  fd?: number;
}

/** `wsgi.file_wrapper(filelike, blockSize?)`: call it as a function (as Python apps do). */
export type FileWrapperFactory = (filelike: FileLike, blockSize?: number) => Body;

/**
 * Keys that servers and middleware add to the environ beyond the ones `Environ` names. Empty here:
 * whoever adds a key declares it once by augmenting this interface, and the key is typed everywhere,
 * while a key nobody declared (a typo) does not compile:
 *
 *     declare module 'tsgi' {
 *       interface EnvironExtensions { 'myapp.user'?: User }
 *     }
 *
 * tsgi's bridges and middleware declare their own keys this way (`tsgi.node.req`, `tsgi.fetch.*`,
 * `tsgi.proxy.original`). Extension keys contain a `.` (PEP 3333: a unique prefix) and are
 * optional, since a request that did not pass through the code that adds them lacks them.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface -- filled by declaration merging
export interface EnvironExtensions {}

/**
 * The environ: CGI variables as native (latin-1) strings plus the `wsgi.*` keys. A plain object.
 * Every key is declared: PEP 3333's and RFC 3875's, `HTTP_*` for request headers, `wsgi.*`,
 * tsgi's own, and what `EnvironExtensions` adds. Keys that may be absent are optional.
 */
export interface Environ extends EnvironExtensions {
  // Always present (PEP 3333 R11).
  REQUEST_METHOD: string;
  SCRIPT_NAME: string;
  PATH_INFO: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  // PEP 3333: "may be empty or absent". tsgi's doors always set it; other servers may not.
  QUERY_STRING?: string;
  // Absent, not '', when the request has no such field (R11).
  CONTENT_TYPE?: string;
  CONTENT_LENGTH?: string;
  // The other CGI variables (RFC 3875 section 4.1 and what common front ends add): present when
  // they apply to the request (R13).
  AUTH_TYPE?: string;
  DOCUMENT_ROOT?: string;
  GATEWAY_INTERFACE?: string;
  HTTPS?: string;
  PATH_TRANSLATED?: string;
  RAW_URI?: string;
  REMOTE_ADDR?: string;
  REMOTE_HOST?: string;
  REMOTE_IDENT?: string;
  REMOTE_PORT?: string;
  REMOTE_USER?: string;
  REQUEST_SCHEME?: string;
  REQUEST_URI?: string;
  SCRIPT_FILENAME?: string;
  SERVER_ADDR?: string;
  SERVER_SOFTWARE?: string;
  /** A request header field, present exactly when the request has it (R12). */
  [key: `HTTP_${string}`]: string | undefined;
  'wsgi.version': readonly [1, 0];
  'wsgi.url_scheme': string;
  'wsgi.input': InputStream;
  'wsgi.errors': ErrorStream;
  'wsgi.multithread': boolean;
  'wsgi.multiprocess': boolean;
  'wsgi.run_once': boolean;
  'wsgi.file_wrapper'?: FileWrapperFactory;
  'wsgi.input_terminated'?: boolean;
  /** Fires when the client disconnects before the response is complete (the bridges, the test client). */
  'tsgi.signal'?: AbortSignal;
  /** The request's ID, accepted or generated by the request-id middleware. */
  'tsgi.request_id'?: string;
}

/**
 * The environ as the plain object it is, for code that handles keys it learns at run time (a front
 * end's CGI variables, a dump of every key): `(environ as EnvironRecord)[name]` is `unknown`. Code
 * that names a key writes it out on `Environ`, where a typo does not compile.
 */
export type EnvironRecord = Environ & { [key: string]: unknown };

export const WSGI_VERSION: readonly [1, 0] = Object.freeze([1, 0] as const);
