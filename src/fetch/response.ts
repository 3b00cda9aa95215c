// A lightweight Response, after @hono/node-server's: `new Response('text', init)` keeps the string
// (or bytes) and the init as they are, and fromFetchHandler answers from them directly (no
// ReadableStream, no Headers object, no read). Anything else about it (`body`, `text()`, `clone()`,
// a stream or a Blob as the body, ...) makes the runtime's real Response and defers to it.
//
// It only helps when the application constructs its Responses with it, so `useLightweightResponse()`
// puts it in place of `globalThis.Response`, as @hono/node-server does by default. It is a subclass
// as far as `instanceof` can tell (both ways).

const kBody = Symbol('tsgi.responseBody');
const kInit = Symbol('tsgi.responseInit');
const kHeaders = Symbol('tsgi.responseHeaders');
const kReal = Symbol('tsgi.response');

type Init = { status?: number; statusText?: string; headers?: unknown };
type Light = {
  [kBody]: string | Uint8Array | null;
  [kInit]: Init | undefined;
  [kHeaders]?: Headers;
  [kReal]?: Response;
};

const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const TEXT = 'text/plain;charset=UTF-8';

let Native: typeof Response | undefined;
const native = (): typeof Response => (Native ??= globalThis.Response);

function cacheable(body: unknown, init: unknown): boolean {
  if (!(body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array)) return false;
  if (init === undefined) return true;
  if (init === null || typeof init !== 'object') return false;
  const status = (init as Init).status;
  if (status !== undefined && (!Number.isInteger(status) || status < 200 || status > 599)) return false; // let the real one throw
  if (status !== undefined && body != null && NULL_BODY.has(status)) return false;
  return true;
}

function hasContentType(headers: unknown): boolean {
  if (headers === undefined || headers === null) return false;
  if (headers instanceof Headers) return headers.has('content-type');
  if (Array.isArray(headers)) return headers.some((p) => String(p[0]).toLowerCase() === 'content-type');
  for (const k in headers as Record<string, unknown>) if (k.toLowerCase() === 'content-type') return true;
  return false;
}

function real(r: Light): Response {
  let res = r[kReal];
  if (res === undefined) {
    const init = r[kInit];
    res = r[kReal] = new (native())(r[kBody], {
      status: init?.status,
      statusText: init?.statusText,
      headers: (r[kHeaders] ?? init?.headers) as ConstructorParameters<typeof Headers>[0],
    });
  }
  return res;
}

export class LightweightResponse {
  constructor(body?: unknown, init?: unknown) {
    const self = this as unknown as Light;
    if (cacheable(body, init)) {
      self[kBody] = (body ?? null) as string | Uint8Array | null;
      self[kInit] = init as Init | undefined;
    } else {
      self[kBody] = null;
      self[kInit] = undefined;
      self[kReal] = new (native())(body as never, init as never);
    }
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof native() || (value !== null && typeof value === 'object' && kBody in value);
  }

  static json(data: unknown, init?: Init): Response {
    const body = JSON.stringify(data);
    if (body === undefined) throw new TypeError('The data is not JSON serializable');
    const headers = new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new LightweightResponse(body, { status: init?.status, statusText: init?.statusText, headers }) as unknown as Response;
  }

  static redirect(url: string | URL, status?: number): Response {
    return native().redirect(url, status as Parameters<typeof Response.redirect>[1]);
  }

  static error(): Response {
    return native().error();
  }

  get status(): number {
    const self = this as unknown as Light;
    return self[kReal]?.status ?? self[kInit]?.status ?? 200;
  }

  get statusText(): string {
    const self = this as unknown as Light;
    return self[kReal]?.statusText ?? self[kInit]?.statusText ?? '';
  }

  get ok(): boolean {
    const s = this.status;
    return s >= 200 && s < 300;
  }

  get headers(): Headers {
    const self = this as unknown as Light;
    if (self[kReal] !== undefined) return self[kReal].headers;
    let h = self[kHeaders];
    if (h === undefined) {
      const given = self[kInit]?.headers;
      h = self[kHeaders] = new Headers(given as ConstructorParameters<typeof Headers>[0]);
      if (typeof self[kBody] === 'string' && !h.has('content-type')) h.set('content-type', TEXT);
    }
    return h;
  }
}

for (const key of ['body', 'bodyUsed', 'redirected', 'type', 'url']) {
  Object.defineProperty(LightweightResponse.prototype, key, {
    get(this: Light) {
      return (real(this) as unknown as Record<string, unknown>)[key];
    },
    configurable: true,
  });
}
for (const key of ['arrayBuffer', 'blob', 'bytes', 'clone', 'formData', 'json', 'text']) {
  Object.defineProperty(LightweightResponse.prototype, key, {
    value(this: Light) {
      const r = real(this) as unknown as Record<string, () => unknown>;
      return r[key]!.call(r);
    },
    configurable: true,
    writable: true,
  });
}

let linked = false;
function link(): void {
  if (linked) return;
  linked = true;
  Object.setPrototypeOf(LightweightResponse.prototype, native().prototype);
}

/**
 * Puts LightweightResponse in place of `globalThis.Response` (once; later calls do nothing).
 * Returns a function that puts the runtime's own back.
 */
export function useLightweightResponse(): () => void {
  const current = globalThis.Response as unknown;
  if (current === LightweightResponse) return () => {};
  native();
  link();
  Object.defineProperty(globalThis, 'Response', { value: LightweightResponse, writable: true, configurable: true });
  return () => {
    Object.defineProperty(globalThis, 'Response', { value: current, writable: true, configurable: true });
  };
}

/** The parts of a lightweight Response that was not materialized, or null. */
export function lightweightParts(
  response: unknown,
): { status: number; statusText: string; headers: Iterable<[string, string]>; body: string | Uint8Array | null } | null {
  if (response === null || typeof response !== 'object' || !(kBody in response)) return null;
  const r = response as Light;
  if (r[kReal] !== undefined) return null;
  const init = r[kInit];
  const body = r[kBody];
  let headers: Iterable<[string, string]>;
  const cached = r[kHeaders];
  if (cached !== undefined) headers = cached as unknown as Iterable<[string, string]>;
  else {
    const given = init?.headers;
    if (given === undefined || given === null) headers = [];
    else if (given instanceof Headers) headers = given as unknown as Iterable<[string, string]>;
    else if (Array.isArray(given)) headers = given.map((p) => [String(p[0]), String(p[1])] as [string, string]);
    else headers = Object.entries(given as Record<string, string>).map(([k, v]) => [k, String(v)] as [string, string]);
    if (typeof body === 'string' && !hasContentType(given)) headers = [...headers, ['content-type', TEXT]];
  }
  return { status: init?.status ?? 200, statusText: init?.statusText ?? '', headers, body };
}
