// validate(app): a middleware that checks both sides of the TSGI contract on every call, as Python's
// wsgiref.validate does for WSGI. It sits between a server and an application and changes nothing in
// the request or the response; it raises a ValidationError (an AssertionError) when anything is off.
//
// Every check carries an id in a comment and in the error (`err.check`, and `AssertionError [V12]: …`
// in stacks and logs):
//   V1–V56   wsgiref.validate's checks (CPython's Lib/wsgiref/validate.py), adapted to TypeScript:
//            awaited reads, async bodies, write() promises, string chunks sent as UTF-8.
//   K2–K15   Rack::Lint's checks that wsgiref lacks (research §4.1).
//   R1–R63   rules of docs/SPEC.md that neither checks, mostly the asynchronous ones: close() exactly
//            once, no next() while one is pending, write() after the body was returned, reads never
//            past CONTENT_LENGTH, and Content-Length matching what was sent (K15).
// Messages are wsgiref's where it has them (Python's %r becomes a JavaScript literal).
//
// The core rule of src/: this module imports nothing from Node, so it runs wherever the engine runs.
import type { Application, Body, Bytes, Chunk, Environ, ErrorStream, HeaderList, InputStream, StartResponse, Status, Write } from './spec.js';
import { AssertionError } from './runner/checks.js';
import { TsgiError } from './errors.js';
import { HOP_BY_HOP } from './protocol/hop.js';
import { isBodyless, noContentRule } from './protocol/bodyless.js';

// --- errors and warnings -----------------------------------------------------------------------

/**
 * A contract violation. Its name is `AssertionError`, as wsgiref's; `check` is the id of the rule
 * (docs/validate.md), also shown in the stack: `AssertionError [V12]: SCRIPT_NAME doesn't start …`.
 * Its `code` is TSGI_ERR_VALIDATION whatever the check.
 */
export class ValidationError extends AssertionError {
  readonly check: string;
  constructor(check: string, message: string) {
    super(message, 'TSGI_ERR_VALIDATION');
    this.check = check;
    // Node's own style for coded errors ("TypeError [ERR_X]: …"): the stack header names the check
    // while `name` stays AssertionError. V8 formats the stack lazily, so `name` is already set here.
    const stack = this.stack;
    if (typeof stack === 'string' && stack.startsWith(this.name)) {
      this.stack = `${this.name} [${check}]${stack.slice(this.name.length)}`;
    }
  }
}

/** What wsgiref reports with `warnings.warn(…, WSGIWarning)`: suspicious, not a violation (TSGI_WARN_VALIDATION). */
export class WSGIWarning extends TsgiError {
  override name = 'WSGIWarning';
  readonly check: string;
  constructor(check: string, message: string) {
    super('TSGI_WARN_VALIDATION', message);
    this.check = check;
  }
}

function fail(check: string, message: string): never {
  throw new ValidationError(check, message);
}

function rejection(check: string, message: string): Promise<never> {
  return Promise.reject(new ValidationError(check, message));
}

// --- the checks, as a table ----------------------------------------------------------------------

export type CheckKind = 'error' | 'warning' | 'report';

export interface Check {
  id: string;
  kind: CheckKind;
  /** What is checked, in a few words (docs/validate.md has the messages). */
  rule: string;
}

/** Every check validate() performs, in the order a request meets them. */
export const CHECKS: readonly Check[] = Object.freeze([
  { id: 'V1', kind: 'error', rule: 'the application is called with exactly two arguments' },
  { id: 'V2', kind: 'error', rule: 'environ is a plain object' },
  { id: 'K2a', kind: 'error', rule: 'environ is not frozen, sealed or non-extensible' },
  { id: 'V3', kind: 'error', rule: 'environ has the required keys' },
  { id: 'V4', kind: 'error', rule: 'no HTTP_CONTENT_TYPE or HTTP_CONTENT_LENGTH' },
  { id: 'V5', kind: 'warning', rule: 'QUERY_STRING is present' },
  { id: 'V6', kind: 'error', rule: 'keys without a dot have string values' },
  { id: 'K7', kind: 'error', rule: 'CGI values are native strings (latin-1)' },
  { id: 'V7', kind: 'error', rule: 'wsgi.version is [1, 0]' },
  { id: 'V8', kind: 'error', rule: 'wsgi.url_scheme is http or https' },
  { id: 'R21', kind: 'error', rule: 'wsgi.multithread, multiprocess, run_once, input_terminated are booleans' },
  { id: 'R63', kind: 'error', rule: 'wsgi.file_wrapper, if present, is a function' },
  { id: 'V9', kind: 'error', rule: 'wsgi.input has read, readline, readlines and async iteration' },
  { id: 'V10', kind: 'error', rule: 'wsgi.errors has flush, write and writelines' },
  { id: 'K4', kind: 'error', rule: 'REQUEST_METHOD is a token' },
  { id: 'V11', kind: 'warning', rule: 'REQUEST_METHOD is a known method' },
  { id: 'V12', kind: 'error', rule: "SCRIPT_NAME is empty or starts with '/'" },
  { id: 'V13', kind: 'error', rule: "PATH_INFO is empty or starts with '/'" },
  { id: 'V14', kind: 'error', rule: 'CONTENT_LENGTH, if present, is digits (K5)' },
  { id: 'V15', kind: 'error', rule: 'PATH_INFO is present when SCRIPT_NAME is empty' },
  { id: 'V16', kind: 'error', rule: "SCRIPT_NAME is not '/'" },
  { id: 'K3a', kind: 'error', rule: 'SERVER_NAME is a host name' },
  { id: 'K3b', kind: 'error', rule: 'SERVER_PORT is a port number' },
  { id: 'K2b', kind: 'error', rule: 'SERVER_PROTOCOL is HTTP/n(.n)' },
  { id: 'K3c', kind: 'warning', rule: 'HTTP_HOST is a valid authority' },
  { id: 'R1', kind: 'error', rule: 'the second argument is the startResponse function' },
  { id: 'V18', kind: 'error', rule: 'the application returns a body (not null/undefined/false)' },
  { id: 'V19', kind: 'error', rule: 'the body is not a bare string or Uint8Array' },
  { id: 'V49', kind: 'error', rule: 'the body is iterable (sync or async)' },
  { id: 'V21', kind: 'error', rule: 'startResponse gets two or three arguments' },
  { id: 'R45', kind: 'error', rule: 'startResponse is called again only with excInfo' },
  { id: 'V22', kind: 'error', rule: 'status is a string' },
  { id: 'V23', kind: 'error', rule: 'status code has three characters' },
  { id: 'V24', kind: 'error', rule: 'status code is a number >= 100' },
  { id: 'R37a', kind: 'error', rule: 'status is not interim (1xx)' },
  { id: 'V25', kind: 'error', rule: "status is 'NNN Reason' (wsgiref warns; TSGI R37 makes it a MUST)" },
  { id: 'R37b', kind: 'error', rule: 'status has no control characters and is latin-1' },
  { id: 'V26', kind: 'error', rule: 'headers is an array' },
  { id: 'V27', kind: 'error', rule: 'each header is a [name, value] pair' },
  { id: 'V28a', kind: 'error', rule: 'header names are strings' },
  { id: 'V28b', kind: 'error', rule: 'header values are strings' },
  { id: 'V29', kind: 'error', rule: 'no Status header' },
  { id: 'V30', kind: 'error', rule: "header names have no ':' or newline" },
  { id: 'V31', kind: 'error', rule: 'header names are letters, digits, - and _, starting with a letter' },
  { id: 'V32', kind: 'error', rule: "header names do not end in '-' or '_'" },
  { id: 'V33', kind: 'error', rule: 'header values have no control characters and are latin-1' },
  { id: 'R41', kind: 'error', rule: 'no hop-by-hop headers' },
  { id: 'R39a', kind: 'error', rule: 'a Content-Length header is 1 to 15 digits' },
  { id: 'R39b', kind: 'error', rule: 'repeated Content-Length headers agree' },
  { id: 'K13', kind: 'error', rule: 'no Content-Length on 204' },
  { id: 'V34a', kind: 'error', rule: 'no Content-Type on 204 or 304' },
  { id: 'V34b', kind: 'error', rule: 'a response with content has a Content-Type' },
  { id: 'V35', kind: 'error', rule: 'excInfo is the error or a [type, value, traceback] triple' },
  { id: 'R44', kind: 'error', rule: 'startResponse with excInfo rethrows once the headers were sent (server)' },
  { id: 'V36', kind: 'error', rule: 'startResponse returns a write function (server)' },
  { id: 'V38', kind: 'error', rule: 'write() gets a Uint8Array or a string' },
  { id: 'R54', kind: 'error', rule: 'write() is not called after the application returned its body' },
  { id: 'R53', kind: 'error', rule: 'write() returns a Promise (server)' },
  { id: 'K14', kind: 'error', rule: 'the body is iterated once' },
  { id: 'V50', kind: 'error', rule: 'the body is not iterated after close()' },
  { id: 'R8', kind: 'error', rule: 'no next() while the previous one is pending (server)' },
  { id: 'V51', kind: 'error', rule: 'chunks are Uint8Array or string' },
  { id: 'V52', kind: 'error', rule: 'startResponse is called before the first non-empty chunk' },
  { id: 'R38', kind: 'error', rule: 'the headers list is not changed after startResponse' },
  { id: 'K15', kind: 'error', rule: 'the bytes sent match Content-Length' },
  { id: 'R70', kind: 'warning', rule: 'a 204 or 304 response sends no content' },
  { id: 'R4', kind: 'error', rule: 'startResponse is called before the body ends' },
  { id: 'R7', kind: 'error', rule: 'close() is called at most once (server)' },
  { id: 'V54a', kind: 'report', rule: 'a body is closed before it is garbage collected (server)' },
  { id: 'V54b', kind: 'error', rule: 'assertClosed(): every body was closed (server)' },
  { id: 'V39a', kind: 'error', rule: 'input.read() takes one optional whole-number size' },
  { id: 'V39b', kind: 'error', rule: 'input.read() returns a Promise of a Uint8Array (server)' },
  { id: 'R32', kind: 'error', rule: 'input.read(n) returns at most n bytes (server)' },
  { id: 'V40a', kind: 'error', rule: 'input.readline() takes one optional whole-number size' },
  { id: 'V40b', kind: 'error', rule: 'input.readline() returns a Promise of a Uint8Array (server)' },
  { id: 'R33', kind: 'error', rule: 'input.readline(n) returns at most n bytes (server)' },
  { id: 'V41a', kind: 'error', rule: 'input.readlines() takes one optional whole-number hint' },
  { id: 'V41b', kind: 'error', rule: 'input.readlines() returns a Promise of an array of Uint8Array (server)' },
  { id: 'R30', kind: 'error', rule: 'the input never returns more than CONTENT_LENGTH bytes (server)' },
  { id: 'V43', kind: 'error', rule: 'input.close() is not called' },
  { id: 'V45', kind: 'error', rule: 'errors.write() gets a string' },
  { id: 'V48', kind: 'error', rule: 'errors.close() is not called' },
] satisfies Check[]);

// --- formatting values for messages --------------------------------------------------------------

/** A short JavaScript-literal rendering of a value (Python's %r); never contains a raw newline. */
export function repr(v: unknown, depth = 0): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 80 ? v.slice(0, 80) + '…' : v);
    case 'undefined':
    case 'boolean':
    case 'number':
      return String(v);
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return v.toString();
    case 'function':
      return `[Function ${v.name || '(anonymous)'}]`;
  }
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) {
    if (depth >= 2) return v.length === 0 ? '[]' : '[…]';
    const items = v.slice(0, 8).map((x) => repr(x, depth + 1));
    if (v.length > 8) items.push(`… ${v.length - 8} more`);
    return `[${items.join(', ')}]`;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    const keys = Object.keys(v as object);
    if (depth >= 1 || keys.length > 6) return keys.length === 0 ? '{}' : `{… ${keys.length} keys}`;
    const body = keys.map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${repr((v as Record<string, unknown>)[k], depth + 1)}`);
    return keys.length === 0 ? '{}' : `{ ${body.join(', ')} }`;
  }
  return `${typeName(v)} {}`;
}

/** The type of a value, for messages: `string`, `Array`, `Map`, `null`… */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === null) return 'null-prototype object';
  const ctor = (v as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name ? ctor.name : 'object';
}

// --- small helpers -------------------------------------------------------------------------------

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** The UTF-8 length of a string chunk, as the engine will encode it (a lone surrogate is U+FFFD). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function chunkLength(c: Chunk): number {
  return typeof c === 'string' ? utf8Length(c) : c.length;
}

function isChunk(v: unknown): v is Chunk {
  return typeof v === 'string' || v instanceof Uint8Array;
}

/** A size argument of the input methods: a whole number (negative = all), null or undefined. */
function isSizeArgs(args: unknown[]): boolean {
  if (args.length > 1) return false;
  const s = args[0];
  return s === undefined || s === null || (typeof s === 'number' && Number.isInteger(s));
}

/** The first character of `s` outside latin-1 text: a control character (C0 or DEL) or one above U+00FF. */
function badChar(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c > 0xff) return i;
  }
  return -1;
}

function nonLatin1(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return i;
  return -1;
}

function codePoint(s: string, i: number): string {
  return 'U+' + s.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0');
}

/** wsgiref's header_re: stricter than an RFC 9110 token (JSGI 0.3 has the same rule). */
const HEADER_NAME = /^[a-zA-Z][a-zA-Z0-9\-_]*$/;
const TOKEN = /^[0-9A-Za-z!#$%&'*+.^_`|~-]+$/;
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'OPTIONS', 'PATCH', 'PUT', 'DELETE', 'TRACE']);
const REG_NAME = /^[A-Za-z0-9\-._~!$&'()*+,;=%]+$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[\w.~-]+)?$/;

/** A host as SERVER_NAME holds it: a name, an IPv4 address, or an IPv6 address with or without brackets. */
function isHost(s: string): boolean {
  if (s.startsWith('[') && s.endsWith(']')) return s.includes(':') && IPV6.test(s.slice(1, -1).replace('%25', '%'));
  if (s.includes(':')) return IPV6.test(s);
  return REG_NAME.test(s);
}

/** `host[:port]` as a Host header carries it (RFC 9110 §7.2; empty when the target has no authority). */
function isAuthority(s: string): boolean {
  if (s === '') return true;
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(s);
  if (m === null) return false;
  const host = m[1]!;
  return host.startsWith('[') ? isHost(host) : REG_NAME.test(host);
}

// --- the environ ---------------------------------------------------------------------------------

const REQUIRED = [
  'REQUEST_METHOD',
  'SERVER_NAME',
  'SERVER_PORT',
  // Not in wsgiref's list: it reads wsgi.url_scheme unguarded (a KeyError, V8); TSGI R11 and
  // Rack 3 require SERVER_PROTOCOL.
  'SERVER_PROTOCOL',
  'wsgi.version',
  'wsgi.url_scheme',
  'wsgi.input',
  'wsgi.errors',
  'wsgi.multithread',
  'wsgi.multiprocess',
  'wsgi.run_once',
];

type Warn = (check: string, message: string) => void;

function hasOwn(o: object, k: string): boolean {
  return Object.hasOwn(o, k);
}

/** wsgiref's check_environ, in its order, plus Rack's environ checks. */
function checkEnviron(environ: unknown, warn: Warn): asserts environ is Environ {
  // V2: a plain object stands in for Python's exact dict (no Map, no class instance, no null prototype).
  if (environ === null || typeof environ !== 'object' || Object.getPrototypeOf(environ) !== Object.prototype) {
    fail('V2', `Environment is not of the right type: ${typeName(environ)} (environment: ${repr(environ)})`);
  }
  const env = environ as Record<string, unknown>;
  // K2a: the application may modify environ freely (PEP 3333 R10; Rack: "env should not be frozen").
  if (!Object.isExtensible(env) || Object.isFrozen(env)) fail('K2a', 'Environment should not be frozen, but is');
  // V3
  for (const key of REQUIRED) {
    if (!hasOwn(env, key)) fail('V3', `Environment missing required key: ${JSON.stringify(key)}`);
  }
  // V4
  for (const key of ['HTTP_CONTENT_TYPE', 'HTTP_CONTENT_LENGTH']) {
    if (hasOwn(env, key)) fail('V4', `Environment should not have the key: ${key} (use ${key.slice(5)} instead)`);
  }
  // V5: wsgiref warns; TSGI R11 says QUERY_STRING may be empty, and every tsgi door sets it.
  if (!hasOwn(env, 'QUERY_STRING')) {
    warn(
      'V5',
      'QUERY_STRING is not in the WSGI environment; code that parses it will get undefined when this ' +
        'variable is missing, so application errors are more likely',
    );
  }
  for (const key of Object.keys(env)) {
    if (key.includes('.')) continue; // an extension: its type is its own business
    const value = env[key];
    // V6
    if (typeof value !== 'string') {
      fail('V6', `Environmental variable ${key} is not a string: ${typeName(value)} (value: ${repr(value)})`);
    }
    // K7: native strings (PEP 3333 R24): one char per byte, as Rack wants binary strings.
    const bad = nonLatin1(value);
    if (bad !== -1) {
      fail('K7', `Environmental variable ${key} is not a native string: ${codePoint(value, bad)} at ${bad} (value: ${repr(value)})`);
    }
  }
  // V7
  const version = env['wsgi.version'];
  if (!Array.isArray(version) || version.length !== 2 || version[0] !== 1 || version[1] !== 0) {
    fail('V7', `wsgi.version should be [1, 0] (got ${repr(version)})`);
  }
  // V8
  const scheme = env['wsgi.url_scheme'];
  if (scheme !== 'http' && scheme !== 'https') fail('V8', `wsgi.url_scheme unknown: ${repr(scheme)}`);
  // R21 (and R68 for wsgi.input_terminated): TSGI's flags are booleans.
  for (const key of ['wsgi.multithread', 'wsgi.multiprocess', 'wsgi.run_once', 'wsgi.input_terminated']) {
    if (key === 'wsgi.input_terminated' && !hasOwn(env, key)) continue;
    if (typeof env[key] !== 'boolean') fail('R21', `${key} should be a boolean (got ${repr(env[key])})`);
  }
  // R63
  if (hasOwn(env, 'wsgi.file_wrapper') && typeof env['wsgi.file_wrapper'] !== 'function') {
    fail('R63', `wsgi.file_wrapper should be a function (got ${repr(env['wsgi.file_wrapper'])})`);
  }
  // V9
  const input = env['wsgi.input'] as Record<string | symbol, unknown> | null;
  for (const attr of ['read', 'readline', 'readlines', Symbol.asyncIterator] as const) {
    if (input === null || (typeof input !== 'object' && typeof input !== 'function') || typeof input[attr] !== 'function') {
      const name = typeof attr === 'symbol' ? '[Symbol.asyncIterator]' : attr;
      fail('V9', `wsgi.input (${repr(input)}) doesn't have the attribute ${name}`);
    }
  }
  // V10
  const errors = env['wsgi.errors'] as Record<string, unknown> | null;
  for (const attr of ['flush', 'write', 'writelines']) {
    if (errors === null || (typeof errors !== 'object' && typeof errors !== 'function') || typeof errors[attr] !== 'function') {
      fail('V10', `wsgi.errors (${repr(errors)}) doesn't have the attribute ${attr}`);
    }
  }
  const method = env.REQUEST_METHOD as string;
  // K4: an error where wsgiref only warns about unknown methods (V11).
  if (!TOKEN.test(method)) fail('K4', `REQUEST_METHOD is not a valid token: ${repr(method)}`);
  // V11
  if (!KNOWN_METHODS.has(method)) warn('V11', `Unknown REQUEST_METHOD: ${repr(method)}`);
  const scriptName = env.SCRIPT_NAME as string | undefined;
  const pathInfo = env.PATH_INFO as string | undefined;
  // V12, V13
  if (scriptName && !scriptName.startsWith('/')) fail('V12', `SCRIPT_NAME doesn't start with /: ${repr(scriptName)}`);
  if (pathInfo && !pathInfo.startsWith('/')) fail('V13', `PATH_INFO doesn't start with /: ${repr(pathInfo)}`);
  // V14, with Rack's digits-only rule (K5); TSGI R11: absent, never '', when the request has none.
  if (hasOwn(env, 'CONTENT_LENGTH') && !/^[0-9]+$/.test(env.CONTENT_LENGTH as string)) {
    fail('V14', `Invalid CONTENT_LENGTH: ${repr(env.CONTENT_LENGTH)}`);
  }
  // V15
  if (!scriptName && !hasOwn(env, 'PATH_INFO')) {
    fail('V15', "One of SCRIPT_NAME or PATH_INFO are required (PATH_INFO should at least be '/' if SCRIPT_NAME is empty)");
  }
  // V16
  if (scriptName === '/') fail('V16', "SCRIPT_NAME cannot be '/'; it should instead be '', and PATH_INFO should be '/'");
  // K3a, K3b: PEP 3333 and Rack 3: never empty; Rack: SERVER_NAME a valid host, SERVER_PORT an integer.
  if (!isHost(env.SERVER_NAME as string)) fail('K3a', `SERVER_NAME is not a valid host name: ${repr(env.SERVER_NAME)}`);
  if (!/^[0-9]{1,5}$/.test(env.SERVER_PORT as string)) fail('K3b', `SERVER_PORT is not a port number: ${repr(env.SERVER_PORT)}`);
  // K2b: Rack 3.
  if (!/^HTTP\/[0-9](\.[0-9])?$/.test(env.SERVER_PROTOCOL as string)) {
    fail('K2b', `SERVER_PROTOCOL does not match HTTP/\\d(\\.\\d)?: ${repr(env.SERVER_PROTOCOL)}`);
  }
  // K3c: Rack 3 makes it an error; the Host header is the client's, and TSGI doors pass it as sent.
  if (typeof env.HTTP_HOST === 'string' && !isAuthority(env.HTTP_HOST)) {
    warn('K3c', `HTTP_HOST is not a valid authority: ${repr(env.HTTP_HOST)}`);
  }
}

// --- wsgi.input and wsgi.errors ------------------------------------------------------------------

/** The spec's `Bytes`: what the platform's APIs (Blob, Response) accept, which a SharedArrayBuffer view is not. */
function onArrayBuffer(v: Uint8Array): v is Bytes {
  return v.buffer instanceof ArrayBuffer;
}

/**
 * V39–V44: `wsgi.input` as the application sees it. Only the four members of the contract exist
 * (V44: anything else, such as `seek` or `fileno`, is undefined), every result is checked, and the
 * total handed out is held against CONTENT_LENGTH (R30).
 */
export class InputWrapper implements InputStream {
  readonly #input: InputStream;
  readonly #limit: number;
  #total = 0;

  constructor(input: InputStream, limit = Infinity) {
    this.#input = input;
    this.#limit = limit;
  }

  read(...args: unknown[]): Promise<Bytes> {
    // V39a: wsgiref demands exactly one argument; PEP 3333 R31 (and TSGI) lets the size be left out.
    if (!isSizeArgs(args)) {
      return rejection('V39a', `wsgi.input.read() takes one optional size: a whole number, null or undefined (got ${args.map((a) => repr(a)).join(', ')})`);
    }
    return this.#bytes('read', this.#call('read', args), args[0] as number | null | undefined);
  }

  readline(...args: unknown[]): Promise<Bytes> {
    // V40a
    if (!isSizeArgs(args)) {
      return rejection('V40a', `wsgi.input.readline() takes one optional size: a whole number, null or undefined (got ${args.map((a) => repr(a)).join(', ')})`);
    }
    return this.#bytes('readline', this.#call('readline', args), args[0] as number | null | undefined);
  }

  readlines(...args: unknown[]): Promise<Bytes[]> {
    // V41a
    if (!isSizeArgs(args)) {
      return rejection(
        'V41a',
        `wsgi.input.readlines() takes one optional hint: a whole number, null or undefined (got ${args.map((a) => repr(a)).join(', ')})`,
      );
    }
    const p = this.#call('readlines', args);
    const message = (got: unknown) => `wsgi.input.readlines() must return a Promise of an array of Uint8Array (got ${repr(got)})`;
    // V41b
    if (!isThenable(p)) return rejection('V41b', message(p));
    return Promise.resolve(p).then((lines) => {
      if (!Array.isArray(lines)) fail('V41b', message(lines));
      let n = 0;
      for (const line of lines) {
        if (!(line instanceof Uint8Array)) fail('V41b', message(line));
        if (!onArrayBuffer(line)) fail('V41b', `${message(line)}: a view of a SharedArrayBuffer`);
        n += line.length;
      }
      this.#count(n);
      return lines as Bytes[]; // each element checked just above
    });
  }

  /** V42: lines, read through this wrapper's readline(), as wsgiref's `__iter__` does. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Bytes, void, undefined> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** V43 */
  close(): never {
    fail('V43', 'input.close() must not be called');
  }

  #call(method: 'read' | 'readline' | 'readlines', args: unknown[]): unknown {
    const fn = this.#input[method] as (...a: unknown[]) => unknown;
    return fn.apply(this.#input, args);
  }

  #bytes(method: 'read' | 'readline', p: unknown, size: number | null | undefined): Promise<Bytes> {
    const id = method === 'read' ? 'V39b' : 'V40b';
    const message = (got: unknown) => `wsgi.input.${method}() must return a Promise of a Uint8Array (got ${repr(got)})`;
    // V39b, V40b: the server's side (D4: every read is a Promise).
    if (!isThenable(p)) return rejection(id, message(p));
    return Promise.resolve(p).then((v) => {
      if (!(v instanceof Uint8Array)) fail(id, message(v));
      if (!onArrayBuffer(v)) fail(id, `${message(v)}: a view of a SharedArrayBuffer`);
      // R32, R33: never more than asked.
      if (typeof size === 'number' && size >= 0 && v.length > size) {
        fail(method === 'read' ? 'R32' : 'R33', `wsgi.input.${method}(${size}) returned ${v.length} bytes, more than asked`);
      }
      this.#count(v.length);
      return v;
    });
  }

  /** R30: the server never hands out more than CONTENT_LENGTH bytes. */
  #count(n: number): void {
    this.#total += n;
    if (this.#total > this.#limit) {
      fail('R30', `wsgi.input returned ${this.#total} bytes, more than CONTENT_LENGTH ${this.#limit}`);
    }
  }
}

/** V45–V48: `wsgi.errors` as the application sees it. */
export class ErrorWrapper implements ErrorStream {
  readonly #errors: ErrorStream;

  constructor(errors: ErrorStream) {
    this.#errors = errors;
  }

  /** V45 */
  write(text: unknown): void {
    if (typeof text !== 'string') fail('V45', `errors.write() argument must be a string (got ${repr(text)})`);
    this.#errors.write(text);
  }

  /** V46: each line through write(), so each is checked. */
  writelines(lines: Iterable<unknown>): void {
    for (const line of lines) this.write(line);
  }

  /** V47: forwarded (a server's flush may return a Promise; it is passed on). */
  flush(): void {
    return this.#errors.flush();
  }

  /** V48 */
  close(): never {
    fail('V48', 'errors.close() must not be called');
  }
}

// --- startResponse, write() and the response state -----------------------------------------------

/**
 * One request's response side: the startResponse the application gets (V21–V36), the write()
 * functions it returns (V38), and what the body wrappers need to know (V52, R38, K15, R4).
 */
export class StartResponseWrapper {
  readonly startResponse: StartResponse;
  /** Calls so far, failed ones included (R45: a failed first call still counts). */
  private calls = 0;
  /** A call passed every check: wsgiref's `start_response_started`. */
  started = false;
  /** The server has sent (or been asked to send) the headers: first non-empty chunk, or first write(). */
  headersSent = false;
  /** The application returned its body (R54: write() is over). */
  bodyReturned = false;
  private code = 0;
  /** The declared Content-Length, -1 when none. */
  private declared = -1;
  private needsContentType = false;
  private appHeaders: unknown = null;
  private snapshot: HeaderList | null = null;
  private sent = 0;
  private warnedContent = false;
  private readonly method: string;

  constructor(
    private readonly inner: StartResponse,
    environ: Environ,
    /** Where warnings go (R70); none: not reported. */
    private readonly warn?: Warn,
  ) {
    this.method = environ.REQUEST_METHOD;
    const self = this;
    this.startResponse = function startResponse(...args: unknown[]): Write {
      return self.start(args);
    } as StartResponse;
  }

  private start(args: unknown[]): Write {
    // V21 (Python's "no keyword arguments" has no JavaScript counterpart)
    if (args.length !== 2 && args.length !== 3) fail('V21', `Invalid number of arguments: ${args.length}`);
    const [status, headers, excInfo] = args;
    const given = excInfo !== undefined && excInfo !== null && excInfo !== false;
    // R45: wsgiref leaves it to the server (V37); a second call needs excInfo, even after a failed first.
    if (this.calls++ > 0 && !given) fail('R45', 'startResponse() called a second time without excInfo: headers already set');
    const code = checkStatus(status);
    const { declared, contentType } = checkHeaders(headers);
    // The statuses without content and what their fields may say: the table the runner frames by.
    const rule = noContentRule(code);
    const noContent = rule !== undefined;
    // K13: RFC 9110 §8.6 forbids Content-Length on 204 (1xx is refused by R37a). Rack also forbids
    // it on 304; RFC 9110 allows it there (the length a 200 would have), and so does TSGI.
    if (rule?.contentLength === 'forbidden' && declared !== -1) fail('K13', `Content-Length header found in a ${code} response, not allowed`);
    // V34a (Rack::Lint's content-type rule too)
    if (contentType && rule?.contentType === 'forbidden') fail('V34a', `Content-Type header found in a ${code} response, which must not return content.`);
    // V34b: wsgiref wants a Content-Type on every response but 204/304; here only when there is
    // content (RFC 9110 §8.3): now when a non-zero Content-Length is declared, else at the first
    // non-empty chunk (a 301 with `Content-Length: 0` needs none).
    if (!contentType && !noContent && declared > 0) fail('V34b', `No Content-Type header found in headers (${repr(headers)})`);
    // V35: JavaScript has no sys.exc_info(); TSGI takes the error itself or a Python-style triple.
    if (given && Array.isArray(excInfo) && excInfo.length !== 3) {
      fail('V35', `excInfo (${repr(excInfo)}) must be the error or a [type, value, traceback] triple`);
    }
    const list = headers as HeaderList;
    this.started = true;
    this.code = code;
    this.declared = declared;
    this.needsContentType = !contentType && !noContent;
    this.appHeaders = list;
    this.snapshot = list.map(([k, v]) => [k, v]);
    // The server gets a copy: it may change it (PEP 3333 R38) without that looking like the
    // application changing its own list after the call (R38, checked when the headers go out).
    const copy: HeaderList = list.map(([k, v]) => [k, v]);
    const write: unknown = args.length === 3 ? this.inner(status as Status, copy, excInfo) : this.inner(status as Status, copy);
    // R44: the server's side. Once the headers are out it cannot change its mind; it must rethrow.
    if (given && this.headersSent) {
      fail('R44', 'startResponse() was called with excInfo after the headers were sent and returned: it must rethrow the error');
    }
    // V36
    if (typeof write !== 'function') fail('V36', `startResponse() must return a write() function (got ${repr(write)})`);
    return this.wrapWrite(write as Write);
  }

  /** WriteWrapper (V38): returns the server's Promise, after the checks. */
  private wrapWrite(inner: Write): Write {
    const self = this;
    return function write(chunk: Chunk): Promise<void> {
      // V38: Uint8Array or string (DESIGN.md: a string is sent as UTF-8).
      if (!isChunk(chunk)) fail('V38', `write() argument must be a Uint8Array or a string (got ${repr(chunk)})`);
      // R54: not from inside the body, not after it: the data would be lost or out of order.
      if (self.bodyReturned) {
        fail('R54', 'write() called after the application returned its body; yield the chunk from the body instead');
      }
      self.content(chunkLength(chunk), true);
      const r: unknown = inner(chunk);
      // R53: the server's side (D6): write() resolves when the next chunk may follow.
      if (!isThenable(r)) fail('R53', `write() must return a Promise (got ${repr(r)})`);
      return r as Promise<void>;
    };
  }

  /** `n` bytes (a chunk of the body, or a write()) are about to reach the server. */
  content(n: number, viaWrite: boolean): void {
    const goesOut = n > 0 || viaWrite;
    if (goesOut && !this.headersSent) this.checkUnchanged();
    // R70: content on a status that has none is dropped by the server (Werkzeug's lint warns too).
    if (n > 0 && !this.warnedContent && noContentRule(this.code) !== undefined) {
      this.warnedContent = true;
      this.warn?.('R70', `A ${this.code} response cannot contain content, but the application sent ${n} bytes; the server drops them`);
    }
    // V34b, deferred to the first content
    if (n > 0 && this.needsContentType) fail('V34b', `No Content-Type header found in headers (${repr(this.appHeaders)})`);
    this.sent += n;
    // K15: more than declared, caught at the chunk that overflows.
    if (this.counting() && this.sent > this.declared) {
      fail('K15', `Content-Length header was ${this.declared}, but the application sent ${this.sent} bytes`);
    }
    if (goesOut) this.headersSent = true;
  }

  /** The body ran to its end (not stopped early by the server). */
  end(): void {
    // R4: the engine refuses it too; wsgiref never checks an empty body.
    if (!this.started) fail('R4', 'The body ended, but start_response has not been called');
    if (!this.headersSent) this.checkUnchanged();
    // K15: fewer than declared.
    if (this.counting() && this.sent !== this.declared) {
      fail('K15', `Content-Length header was ${this.declared}, but the application sent ${this.sent} bytes`);
    }
  }

  /** K15 applies when a length is declared and the response has a body (not HEAD, 1xx, 204, 304). */
  private counting(): boolean {
    return this.declared >= 0 && !isBodyless(this.code, this.method);
  }

  /** R38: the server checked the list when startResponse was called; it must still be that list. */
  private checkUnchanged(): void {
    const h = this.appHeaders;
    const s = this.snapshot;
    if (s === null) return;
    const same = Array.isArray(h) && h.length === s.length && h.every((p, i) => Array.isArray(p) && p.length === 2 && p[0] === s[i]![0] && p[1] === s[i]![1]);
    if (!same) fail('R38', `The headers list was changed after startResponse(): ${repr(h)}`);
  }
}

/** V22–V25 and R37: the status line. Returns the code. */
function checkStatus(status: unknown): number {
  // V22
  if (typeof status !== 'string') fail('V22', `Status must be of type str (got ${repr(status)})`);
  // V23: Python's status.split(None, 1)[0]
  const code = status.trim().split(/\s+/)[0] ?? '';
  if (code.length !== 3) fail('V23', `Status codes must be three characters: ${repr(code)}`);
  // V24: int(code) >= 100 (wsgiref raises a ValueError for non-digits)
  if (!/^[0-9]{3}$/.test(code) || Number(code) < 100) fail('V24', `Status code is invalid: ${repr(code)}`);
  const n = Number(code);
  // R37a: an interim status cannot end a response (the engine's message).
  if (n < 200) fail('R37a', `Status ${n} is interim (1xx); a response needs a final status, 200-599`);
  // V25: wsgiref only warns; TSGI R37 makes it a MUST and the engine refuses it.
  if (status.length < 4 || status[3] !== ' ') {
    fail('V25', `The status string (${repr(status)}) should be a three-digit integer followed by a single space and a status explanation`);
  }
  // R37b: no control characters (CR/LF included), latin-1 only (R24).
  const bad = badChar(status);
  if (bad !== -1) fail('R37b', `Bad status: ${repr(status)} (bad char: ${repr(status[bad])})`);
  return n;
}

/** V26–V33, R39, R41: the header list. Returns the declared Content-Length and whether a Content-Type is there. */
function checkHeaders(headers: unknown): { declared: number; contentType: boolean } {
  // V26
  if (!Array.isArray(headers)) fail('V26', `Headers (${repr(headers)}) must be of type Array: ${typeName(headers)}`);
  let declared = -1;
  let contentType = false;
  for (const item of headers as unknown[]) {
    // V27: Python's tuple of two; a JavaScript [name, value] array.
    if (!Array.isArray(item) || item.length !== 2) fail('V27', `Individual headers (${repr(item)}) must be [name, value] pairs`);
    const [name, value] = item as unknown[];
    // V28a, V28b
    if (typeof name !== 'string') fail('V28a', `Header name must be of type str (got ${repr(name)})`);
    if (typeof value !== 'string') fail('V28b', `Header value must be of type str (got ${repr(value)})`);
    const lower = name.toLowerCase();
    // V29
    if (lower === 'status') {
      fail('V29', `The Status header cannot be used; it conflicts with CGI script, and HTTP status is not given through headers (value: ${repr(value)}).`);
    }
    // V30
    if (name.includes('\n') || name.includes(':')) fail('V30', `Header names may not contain ':' or '\\n': ${repr(name)}`);
    // V31
    if (!HEADER_NAME.test(name)) fail('V31', `Bad header name: ${repr(name)}`);
    // V32
    if (name.endsWith('-') || name.endsWith('_')) fail('V32', `Names may not end in '-' or '_': ${repr(name)}`);
    // V33: wsgiref's [\000-\037], plus DEL and anything above U+00FF (native strings, R24).
    const bad = badChar(value);
    if (bad !== -1) fail('V33', `Bad header value: ${repr(value)} (bad char: ${repr(value[bad])})`);
    // R41: wsgiref's server refuses them; its validator does not (V37).
    if (HOP_BY_HOP.has(lower)) fail('R41', `Hop-by-hop header, '${name}: ${value}', not allowed`);
    if (lower === 'content-length') {
      // R39a, R39b
      if (!/^[0-9]{1,15}$/.test(value)) fail('R39a', `Invalid Content-Length header: ${repr(value)}`);
      const n = Number(value);
      if (declared !== -1 && declared !== n) fail('R39b', `Conflicting Content-Length headers: ${declared} and ${n}`);
      declared = n;
    } else if (lower === 'content-type') contentType = true;
  }
  return { declared, contentType };
}

// --- the body ------------------------------------------------------------------------------------

/** The bodies a validated application returned, to report the ones never closed (V54). */
class Tracker {
  readonly open = new Set<WeakRef<BodyWrapper>>();
  leaked = 0;
  constructor(readonly report: (message: string) => void) {}
}

const UNCLOSED = 'Iterator garbage collected without being closed';

interface Held {
  tracker: Tracker;
  ref: WeakRef<BodyWrapper>;
}

// V54a: Python's __del__. FinalizationRegistry callbacks cannot throw to anyone, so, as wsgiref's
// "Exception ignored in __del__", the message is reported (D16).
const registry: FinalizationRegistry<Held> | null =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<Held>(({ tracker, ref }) => {
        tracker.open.delete(ref);
        tracker.leaked++;
        tracker.report(UNCLOSED);
      })
    : null;

/**
 * What the server gets instead of the application's body (V49–V54): IteratorWrapper for a sync
 * iterable, AsyncIteratorWrapper for an async one. Neither has a `length` nor is an array, so the
 * server cannot compute a Content-Length behind the validator's back (V20).
 */
export abstract class BodyWrapper {
  readonly original: Body;
  protected readonly state: StartResponseWrapper;
  protected closed = false;
  /** The server stopped the iteration early (return()): end-of-body checks do not apply. */
  protected returned = false;
  private iterated = false;
  private readonly tracker: Tracker;
  private readonly ref: WeakRef<BodyWrapper> | null;

  constructor(original: Body, state: StartResponseWrapper, tracker: Tracker) {
    this.original = original;
    this.state = state;
    this.tracker = tracker;
    this.ref = typeof WeakRef === 'function' ? new WeakRef<BodyWrapper>(this) : null;
    if (this.ref !== null) {
      tracker.open.add(this.ref);
      registry?.register(this, { tracker, ref: this.ref }, this);
    }
  }

  /** V50 and K14, when the server asks for the iterator. */
  protected begin(): void {
    if (this.closed) fail('V50', 'Iterator read after closed');
    // K14 (Rack 3: "each" is called once): a second iteration would find the first one's leftovers.
    if (this.iterated) fail('K14', 'The body must be iterated only once');
    this.iterated = true;
  }

  /** V49, for what `[Symbol.iterator]()` / `[Symbol.asyncIterator]()` returned. */
  protected checkIterator(iterator: unknown): void {
    if (iterator === null || typeof iterator !== 'object' || typeof (iterator as { next?: unknown }).next !== 'function') {
      fail('V49', `The application's body is not iterable: ${repr(this.original)}`);
    }
  }

  /** The checks on one step of the iteration (V51, V52, K15, R4). */
  protected step(r: IteratorResult<unknown>): IteratorResult<Chunk> {
    if (r === null || typeof r !== 'object') throw new TypeError(`Iterator result ${repr(r)} is not an object`);
    if (r.done) {
      if (!this.returned && !this.closed) this.state.end();
      return r as IteratorResult<Chunk>;
    }
    const v = r.value;
    // V51
    if (!isChunk(v)) fail('V51', `Iterator yielded non-bytestring (${repr(v)}): a chunk must be a Uint8Array or a string`);
    const n = chunkLength(v);
    if (n > 0) {
      // V52: on the first non-empty chunk (TSGI R4/R43: empty chunks before startResponse are skipped).
      if (!this.state.started) {
        fail('V52', 'The application returns and we started iterating over its body, but start_response has not yet been called');
      }
      this.state.content(n, false);
    }
    return r as IteratorResult<Chunk>;
  }

  /** V53: marks the body closed and calls the application's close(), once (R7). */
  close(): void | Promise<void> {
    // R7: the server's side.
    if (this.closed) fail('R7', "The body's close() was called more than once");
    this.closed = true;
    if (this.ref !== null) {
      this.tracker.open.delete(this.ref);
      registry?.unregister(this);
    }
    const close = (this.original as { close?: unknown }).close;
    if (typeof close === 'function') return close.call(this.original) as void | Promise<void>;
  }

  /** True once close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }
}

/** The body of an application whose body is a sync iterable (an array, a generator). */
export class IteratorWrapper extends BodyWrapper implements Iterable<Chunk> {
  [Symbol.iterator](): Iterator<Chunk> {
    this.begin();
    const iterator: unknown = (this.original as Iterable<unknown>)[Symbol.iterator]();
    this.checkIterator(iterator);
    const it = iterator as Iterator<unknown>;
    const self = this;
    return {
      next(): IteratorResult<Chunk> {
        // V50
        if (self.closed) fail('V50', 'Iterator read after closed');
        return self.step(it.next());
      },
      return(value?: unknown): IteratorResult<Chunk> {
        self.returned = true;
        if (typeof it.return === 'function') return it.return(value) as IteratorResult<Chunk>;
        return { done: true, value: value as Chunk };
      },
      [Symbol.iterator]() {
        return this;
      },
    } as Iterator<Chunk> & Iterable<Chunk>;
  }
}

/** The body of an application whose body is an AsyncIterable (R3: it wins over a sync iterator). */
export class AsyncIteratorWrapper extends BodyWrapper implements AsyncIterable<Chunk> {
  private pending = false;

  [Symbol.asyncIterator](): AsyncIterator<Chunk> {
    this.begin();
    const iterator: unknown = (this.original as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    this.checkIterator(iterator);
    const it = iterator as AsyncIterator<unknown>;
    const self = this;
    return {
      next(): Promise<IteratorResult<Chunk>> {
        return self.next(it);
      },
      return(value?: unknown): Promise<IteratorResult<Chunk>> {
        self.returned = true;
        if (typeof it.return !== 'function') return Promise.resolve({ done: true, value: value as Chunk });
        try {
          return Promise.resolve(it.return(value) as Promise<IteratorResult<Chunk>>);
        } catch (err) {
          return Promise.reject(err);
        }
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    } as AsyncIterator<Chunk> & AsyncIterable<Chunk>;
  }

  private next(it: AsyncIterator<unknown>): Promise<IteratorResult<Chunk>> {
    // V50
    if (this.closed) return rejection('V50', 'Iterator read after closed');
    // R8: the server's side: the next chunk is asked for once the previous one was handed on.
    if (this.pending) return rejection('R8', 'next() called on the body while the previous next() is still pending');
    this.pending = true;
    let p: unknown;
    try {
      p = it.next();
    } catch (err) {
      this.pending = false;
      return Promise.reject(err);
    }
    return Promise.resolve(p as Promise<IteratorResult<unknown>>).then(
      (r) => {
        this.pending = false;
        return this.step(r);
      },
      (err: unknown) => {
        this.pending = false;
        throw err;
      },
    );
  }
}

/** V18, V19, V49: what the application returned, wrapped for the server. */
function wrapBody(body: unknown, state: StartResponseWrapper, tracker: Tracker): BodyWrapper {
  state.bodyReturned = true;
  // V18 (the value Python's `None`/`False` stand for)
  if (body === null || body === undefined || body === false) {
    fail('V18', 'The application must return an iterable, if only an empty array');
  }
  // V19: JavaScript would iterate a string's characters, a Uint8Array's numbers.
  if (typeof body === 'string' || body instanceof Uint8Array) {
    fail('V19', 'You should not return a string as your application body, instead return a single-item array containing it: [body]');
  }
  if (typeof body === 'object' || typeof body === 'function') {
    const b = body as Record<symbol, unknown>;
    if (typeof b[Symbol.asyncIterator] === 'function') return new AsyncIteratorWrapper(body as Body, state, tracker);
    if (typeof b[Symbol.iterator] === 'function') return new IteratorWrapper(body as Body, state, tracker);
    // The server never gets this body, so nobody else would close it.
    const close = (body as { close?: unknown }).close;
    if (typeof close === 'function') {
      try {
        const r: unknown = close.call(body);
        if (isThenable(r)) r.then(undefined, () => {});
      } catch {
        // the V49 error below is the one to report
      }
    }
  }
  // V49
  fail('V49', `The application's body is not iterable: ${repr(body)}`);
}

// --- validate() ----------------------------------------------------------------------------------

export interface ValidateOptions {
  /**
   * Where warnings go (V5, V11, K3c, R70): called with the message and the WSGIWarning. Default: the
   * request's own `wsgi.errors`, as a `WSGIWarning: …` line, each distinct message once per
   * validated application (Python's default warning filter).
   */
  onWarning?: (message: string, warning: WSGIWarning) => void;
  /**
   * Where a body garbage-collected without close() is reported (V54a): it cannot be raised.
   * Default: a line on stderr, as wsgiref writes to sys.stderr.
   */
  onUnclosed?: (message: string) => void;
}

/** An application wrapped by validate(). */
export type ValidatedApplication = Application & {
  /** Throws V54b when a body this application returned has not been closed (call it once responses are over). */
  assertClosed(): void;
};

const trackers = new WeakMap<object, Tracker>();

function stderrLine(message: string): void {
  const out = (globalThis as { process?: { stderr?: { write(s: string): unknown } } }).process?.stderr;
  if (out) out.write(message + '\n');
  else console.error(message);
}

/**
 * Wraps `app` so that every call checks both sides of the TSGI contract: the environ and streams
 * the server provides, and what the application does with startResponse, write() and its body.
 * Violations throw a ValidationError; warnings go to `options.onWarning`. Use it in development
 * and tests, between the server and the application, and between middleware layers.
 */
export function validate(app: Application, options: ValidateOptions = {}): ValidatedApplication {
  if (typeof app !== 'function') throw new TypeError(`validate() needs an application function (got ${repr(app)})`);
  const tracker = new Tracker(options.onUnclosed ?? stderrLine);
  const seen = new Set<string>();

  const validated = function validated(...args: unknown[]): Body | Promise<Body> {
    // V1 (Python's "No keyword arguments allowed" has no JavaScript counterpart)
    if (args.length !== 2) fail('V1', 'Two arguments required');
    const [environ, startResponse] = args;
    const errors = (environ as { 'wsgi.errors'?: ErrorStream } | null)?.['wsgi.errors'];
    const warn: Warn = (check, message) => {
      const warning = new WSGIWarning(check, message);
      if (options.onWarning) return options.onWarning(message, warning);
      if (seen.has(message)) return;
      if (seen.size < 1000) seen.add(message);
      if (errors && typeof errors.write === 'function') errors.write(`WSGIWarning: ${message}\n`);
      else stderrLine(`WSGIWarning: ${message}`);
    };
    checkEnviron(environ, warn);
    // R1: the server's side.
    if (typeof startResponse !== 'function') {
      fail('R1', `The second argument must be the startResponse function (got ${repr(startResponse)})`);
    }
    const state = new StartResponseWrapper(startResponse as StartResponse, environ, warn);
    // V17: as wsgiref, the caller's environ gets the wrapped streams.
    const length = environ.CONTENT_LENGTH;
    environ['wsgi.input'] = new InputWrapper(environ['wsgi.input'], length === undefined ? Infinity : Number(length));
    environ['wsgi.errors'] = new ErrorWrapper(environ['wsgi.errors']);
    const result = app(environ, state.startResponse);
    // An application may return a Promise of its body (DESIGN.md §1); the checks wait for it.
    if (isThenable(result)) {
      return Promise.resolve(result).then((body) => wrapBody(body, state, tracker) as unknown as Body);
    }
    return wrapBody(result, state, tracker) as unknown as Body;
  };
  const out = Object.assign(validated, { assertClosed: () => assertClosed(out) }) as ValidatedApplication;
  trackers.set(out, tracker);
  return out;
}

/**
 * V54b, the explicit form of V54a for tests: throws unless every body `target` returned has been
 * closed. `target` is an application from validate() (every body it returned, including any
 * already garbage-collected unclosed) or one body it returned.
 */
export function assertClosed(target: ValidatedApplication | Body): void {
  let open = 0;
  if (target instanceof BodyWrapper) {
    if (!target.isClosed) open = 1;
  } else {
    const tracker = trackers.get(target as object);
    if (tracker === undefined) throw new TypeError('assertClosed() takes an application from validate() or a body it returned');
    open = tracker.leaked;
    for (const ref of tracker.open) if (ref.deref()?.isClosed === false) open++;
  }
  if (open > 0) fail('V54b', `${open} response ${open === 1 ? 'body was' : 'bodies were'} never closed`);
}
