// The TSGI interface: PEP 3333 mapped onto TypeScript and asynchronous I/O.
// docs/SPEC.md is the prose of this file; the two must say the same thing.
// This module holds types and one constant only, so any runtime can import it.

/** A body chunk. A string is sent as UTF-8; bytes are sent as they are. */
export type Chunk = Uint8Array | string;

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

/** `startResponse(status, headers, excInfo?)`: hands status and headers to the server. */
export type StartResponse = (status: string, headers: HeaderList, excInfo?: ExcInfo) => Write;

/** A TSGI application: PEP 3333's callable, allowed to return a Promise of its body. */
export type Application = (environ: Environ, startResponse: StartResponse) => Body | Promise<Body>;

/** Middleware wraps an application and returns an application. */
export type Middleware = (app: Application) => Application;

/** `wsgi.input`: the request body, never read past CONTENT_LENGTH. All reads are Promises. */
export interface InputStream extends AsyncIterable<Uint8Array> {
  /** Up to `size` bytes (fewer only at the end); all that is left when `size` is omitted or negative. */
  read(size?: number | null): Promise<Uint8Array>;
  /** One line including its `\n`, at most `size` bytes; empty at the end. */
  readline(size?: number | null): Promise<Uint8Array>;
  /** The remaining lines; stops once about `hint` bytes were read when `hint` > 0. */
  readlines(hint?: number | null): Promise<Uint8Array[]>;
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

/** The environ: CGI variables as native (latin-1) strings plus the `wsgi.*` keys. A plain object. */
export interface Environ {
  REQUEST_METHOD: string;
  SCRIPT_NAME: string;
  PATH_INFO: string;
  QUERY_STRING?: string;
  CONTENT_TYPE?: string;
  CONTENT_LENGTH?: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  REMOTE_ADDR?: string;
  REMOTE_PORT?: string;
  REQUEST_URI?: string;
  SERVER_SOFTWARE?: string;
  'wsgi.version': readonly [1, 0];
  'wsgi.url_scheme': string;
  'wsgi.input': InputStream;
  'wsgi.errors': ErrorStream;
  'wsgi.multithread': boolean;
  'wsgi.multiprocess': boolean;
  'wsgi.run_once': boolean;
  'wsgi.file_wrapper'?: FileWrapperFactory;
  'wsgi.input_terminated'?: boolean;
  [key: string]: unknown;
}

export const WSGI_VERSION: readonly [1, 0] = Object.freeze([1, 0] as const);
