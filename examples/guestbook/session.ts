// A session kept in a signed cookie, as Flask's default session: the data travel with the browser as
// base64url(JSON), followed by an HMAC-SHA256 of it under the server's key. The visitor can read the
// data (so nothing secret goes in) but cannot change them: a cookie whose signature does not verify,
// or whose expiry has passed, is ignored and the visitor starts a new, empty session.
//
// Written by hand because it is twenty lines over node:crypto; the well-known packages for it
// (cookie-signature, iron) either sign a string without expiry or bring their own encryption.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response } from 'tsgi/wrappers';

export type FlashKind = 'ok' | 'error';
export interface Flash {
  kind: FlashKind;
  text: string;
}

interface Payload {
  /** Seconds since the epoch after which the cookie is no longer accepted. */
  exp: number;
  name?: string;
  flashes?: Flash[];
}

/** One request's session: read from the cookie, changed by the views, written back if modified. */
export class Session {
  modified = false;
  constructor(private data: Omit<Payload, 'exp'> = {}) {}

  get name(): string | undefined {
    return this.data.name;
  }
  set name(value: string | undefined) {
    if (value === this.data.name) return;
    if (value === undefined) delete this.data.name;
    else this.data.name = value;
    this.modified = true;
  }

  /** A message for the next page shown (after a POST's redirect, say). Keeps the last five. */
  flash(text: string, kind: FlashKind = 'ok'): void {
    this.data.flashes = [...(this.data.flashes ?? []), { kind, text }].slice(-5);
    this.modified = true;
  }

  /** The pending messages, removed from the session (they are shown once). */
  popFlashes(): Flash[] {
    const flashes = this.data.flashes ?? [];
    if (flashes.length > 0) {
      delete this.data.flashes;
      this.modified = true;
    }
    return flashes;
  }

  /** The data to store, or null when there is nothing left (the cookie is then deleted). */
  toJSON(): Omit<Payload, 'exp'> | null {
    return this.data.name === undefined && (this.data.flashes ?? []).length === 0 ? null : this.data;
  }
}

function isFlash(v: unknown): v is Flash {
  const f = v as Flash;
  return typeof f === 'object' && f !== null && (f.kind === 'ok' || f.kind === 'error') && typeof f.text === 'string';
}

/** Reads and writes sessions in one signed cookie. */
export class SessionCookie {
  constructor(
    private readonly key: Uint8Array,
    readonly cookieName = 'guestbook_session',
    /** Lifetime in seconds, renewed each time the session is written. */
    readonly maxAge = 30 * 24 * 3600,
  ) {
    if (key.length < 16) throw new RangeError('SessionCookie: the key must have at least 16 bytes');
  }

  private sign(data: string): Buffer {
    return createHmac('sha256', this.key).update(data).digest();
  }

  /** The cookie value for `data`. */
  encode(data: Omit<Payload, 'exp'>, now = Date.now()): string {
    const body = Buffer.from(JSON.stringify({ ...data, exp: Math.floor(now / 1000) + this.maxAge })).toString('base64url');
    return `${body}.${this.sign(body).toString('base64url')}`;
  }

  /** The data of a cookie value, or null when it is malformed, forged or expired. */
  decode(value: string, now = Date.now()): Omit<Payload, 'exp'> | null {
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return null;
    const body = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1), 'base64url');
    const expected = this.sign(body);
    // Constant-time comparison, so the time taken does not tell a forger how much of a guess was right.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    const p = payload as Partial<Payload>;
    if (typeof p !== 'object' || p === null || typeof p.exp !== 'number' || p.exp * 1000 < now) return null;
    const data: Omit<Payload, 'exp'> = {};
    if (typeof p.name === 'string') data.name = p.name;
    if (Array.isArray(p.flashes)) data.flashes = p.flashes.filter(isFlash);
    return data;
  }

  load(request: Request): Session {
    const value = request.cookies.get(this.cookieName);
    return new Session((value && this.decode(value)) || {});
  }

  /** Writes the session into the response's cookies if a view changed it. */
  save(session: Session, request: Request, response: Response): void {
    if (!session.modified) return;
    // Scoped to the application's mount point, so two apps on one host keep their sessions apart.
    const options = { path: request.scriptName + '/', httpOnly: true, sameSite: 'Lax' as const, secure: request.isSecure };
    const data = session.toJSON();
    if (data === null) response.deleteCookie(this.cookieName, options);
    else response.setCookie(this.cookieName, this.encode(data), { ...options, maxAge: this.maxAge });
  }
}

/**
 * The signing key: GUESTBOOK_SECRET_KEY when set (use a long random string in production), else a
 * development key generated once and kept in the data directory, so sessions survive restarts and every
 * worker process signs with the same key.
 */
export async function loadKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<{ key: Uint8Array; source: string }> {
  const configured = env.GUESTBOOK_SECRET_KEY;
  if (configured !== undefined && configured !== '') {
    if (Buffer.byteLength(configured) < 16) throw new RangeError('GUESTBOOK_SECRET_KEY must be at least 16 bytes long');
    return { key: Buffer.from(configured), source: 'GUESTBOOK_SECRET_KEY' };
  }
  const file = path.join(dataDir, 'dev-secret-key');
  try {
    // 'wx': only the first process to get here writes it; the others (workers starting together) read it.
    await writeFile(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let hex = (await readFile(file, 'utf8')).trim();
  // A worker can read the file between its creation and the write: wait for the 64 hex digits.
  for (let i = 0; hex.length < 64 && i < 50; i++) {
    await new Promise((r) => setTimeout(r, 10));
    hex = (await readFile(file, 'utf8')).trim();
  }
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file} does not hold a 64-digit hex key; delete it to make a new one`);
  return { key: Buffer.from(hex, 'hex'), source: `a development key in ${file}` };
}
