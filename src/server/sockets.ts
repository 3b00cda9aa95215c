// The master's listening sockets. The master binds every address itself (so a port in use, a live
// Unix socket or a bad path is reported before any worker starts) and hands a duplicate of each
// socket to every worker, which listens and accepts on it directly (no round-robin through the
// master: research/peer-bench.md observation 4). The master never accepts. Because it keeps its
// copy open, the sockets survive worker crashes and reloads: a connection that arrives while no
// worker is up waits in the kernel's queue instead of being refused.
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import type { Bind } from './bind.js';
import { describeBind } from './bind.js';
import { TsgiError } from '../errors.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const fs = process.getBuiltinModule('node:fs');
const { lstatSync, unlinkSync } = fs;
const { getSystemErrorName } = process.getBuiltinModule('node:util');

/** A bound socket handle (libuv TCP or Pipe wrap), as node:child_process can send it. */
export type RawHandle = { close(cb?: () => void): void; getsockname?(out: Record<string, unknown>): number; fd?: number };

export interface Listener {
  bind: Bind;
  handle: RawHandle;
  /** The bound port (TCP), after port 0 was resolved. */
  port: number;
  /** For logs: `http://127.0.0.1:8000`. */
  label: string;
  /** A socket file we created and must remove at exit. */
  unlinkPath?: string;
}

/** An address that cannot be listened on (TSGI_ERR_LISTEN). */
export class ListenError extends TsgiError {
  override name = 'ListenError';
  constructor(message: string) {
    super('TSGI_ERR_LISTEN', message);
  }
}

interface NetInternals {
  _createServerHandle(address: string | null, port: number, addressType: number, fd?: number, flags?: number): RawHandle | number;
}

const internals = net as unknown as NetInternals;

function errnoName(code: number): string {
  try {
    return getSystemErrorName(code);
  } catch {
    return `error ${code}`;
  }
}

/** Is something answering on this Unix socket path? */
function probeUnix(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect({ path });
    const done = (live: boolean) => {
      probe.destroy();
      resolve(live);
    };
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
    probe.setTimeout(2000, () => done(true));
  });
}

/**
 * A socket file left by a dead server is removed; one a live server listens on is never taken
 * (gunicorn unlinks it and steals the path: reliability.md F14–F15); a file that is not a socket is
 * refused (F16).
 */
export async function clearUnixPath(path: string, label: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ListenError(`cannot listen on ${label}: ${(err as Error).message}`);
  }
  if (!st.isSocket()) throw new ListenError(`cannot listen on ${label}: ${path} exists and is not a socket (refusing to replace it)`);
  if (await probeUnix(path)) {
    throw new ListenError(`cannot listen on ${label}: another server is listening on ${path} (a live socket is never taken over)`);
  }
  await fs.promises.unlink(path);
}

export interface BindOptions {
  retries: number;
  /** Milliseconds between retries of an address in use. */
  retryDelayMs?: number;
  socketMode?: string;
  socketOwner?: string;
  socketGroup?: string;
  log: { warn(message: string): void; info(message: string): void };
  /** Shown in labels: https for HTTP binds under TLS. */
  tls?: boolean;
}

function label(b: Bind, port: number | undefined, tls: boolean | undefined): string {
  const text = describeBind(b, port);
  return tls && b.protocol === 'http' ? text.replace(/^http:/, 'https:') : text;
}

async function bindOne(b: Bind, o: BindOptions): Promise<Listener> {
  const name = label(b, undefined, o.tls);
  if (b.kind === 'fd') {
    const h = internals._createServerHandle(null, 0, 0, b.fd);
    if (typeof h === 'number') throw new ListenError(`cannot listen on ${name}: file descriptor ${b.fd} is not a usable socket (${errnoName(h)})`);
    const out: Record<string, unknown> = {};
    h.getsockname?.(out);
    const port = typeof out.port === 'number' ? out.port : 0;
    return { bind: b, handle: h, port, label: name };
  }
  if (b.kind === 'unix') {
    await clearUnixPath(b.path, name);
    const h = internals._createServerHandle(b.path, -1, -1);
    if (typeof h === 'number') {
      const why = errnoName(h) === 'EACCES' ? 'permission denied (is the directory writable?)' : errnoName(h);
      throw new ListenError(`cannot listen on ${name}: ${why}`);
    }
    try {
      if (o.socketMode) await fs.promises.chmod(b.path, parseInt(o.socketMode, 8));
      if (o.socketOwner || o.socketGroup) {
        const st = await fs.promises.stat(b.path);
        await fs.promises.chown(b.path, o.socketOwner ? accountId('user', o.socketOwner) : st.uid, o.socketGroup ? accountId('group', o.socketGroup) : st.gid);
      }
    } catch (err) {
      h.close();
      await fs.promises.unlink(b.path).catch(() => {});
      throw new ListenError(`cannot set the owner or mode of ${b.path} (setting socket-mode/socket-owner/socket-group): ${(err as Error).message}`);
    }
    return { bind: b, handle: h, port: 0, label: name, unlinkPath: b.path };
  }
  const family = net.isIPv6(b.host) ? 6 : net.isIPv4(b.host) ? 4 : 0;
  let host = b.host;
  if (family === 0) {
    // A name such as localhost: resolve it as node:net would.
    const { lookup } = await import('node:dns/promises');
    try {
      host = (await lookup(b.host)).address;
    } catch {
      throw new ListenError(`cannot listen on ${name}: cannot resolve ${JSON.stringify(b.host)}`);
    }
  }
  const type = net.isIPv6(host) ? 6 : 4;
  for (let attempt = 0; ; attempt++) {
    let h = internals._createServerHandle(host, b.port, type);
    if (typeof h !== 'number') {
      // libuv delays a bind's EADDRINUSE until listen(); getsockname() reports it now.
      const out: Record<string, unknown> = {};
      const err = h.getsockname?.(out) ?? 0;
      if (err === 0) {
        const port = typeof out.port === 'number' ? out.port : b.port;
        return { bind: b, handle: h, port, label: label(b, port, o.tls) };
      }
      h.close();
      h = err;
    }
    const code = errnoName(h);
    if (code === 'EADDRINUSE' && attempt < o.retries) {
      o.log.warn(`${name}: the address is already in use; retrying in 1 s (${attempt + 1} of ${o.retries}, setting bind-retries)`);
      await new Promise((r) => setTimeout(r, o.retryDelayMs ?? 1000));
      continue;
    }
    const why =
      code === 'EADDRINUSE'
        ? 'the address is already in use'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : code === 'EADDRNOTAVAIL'
            ? 'no such address on this machine'
            : code;
    throw new ListenError(`cannot listen on ${b.kind === 'tcp' ? `${b.host}:${b.port}` : name}: ${why}`);
  }
}

/** Binds every address, or closes what it bound and throws a ListenError naming the one that failed. */
export async function bindAll(binds: Bind[], o: BindOptions): Promise<Listener[]> {
  const out: Listener[] = [];
  try {
    for (const b of binds) out.push(await bindOne(b, o));
  } catch (err) {
    closeAll(out);
    throw err;
  }
  return out;
}

/** Closes the master's copies (workers' copies close with them); removes socket files we made. */
export function closeAll(listeners: Listener[]): void {
  for (const l of listeners) {
    try {
      l.handle.close();
    } catch {
      /* already closed */
    }
    if (l.unlinkPath) {
      try {
        // Only our own socket: if the file was replaced meanwhile, leave it.
        if (lstatSync(l.unlinkPath).isSocket()) unlinkSync(l.unlinkPath);
      } catch {
        /* gone */
      }
    }
  }
}

/** systemd socket activation: LISTEN_FDS sockets starting at fd 3, when LISTEN_PID is us. */
export function systemdBinds(env: Record<string, string | undefined>, pid = process.pid): Bind[] {
  const n = Number(env.LISTEN_FDS ?? '0');
  if (!Number.isInteger(n) || n <= 0) return [];
  if (env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) !== pid) return [];
  return Array.from({ length: n }, (_, i) => ({ kind: 'fd' as const, protocol: 'http' as const, fd: 3 + i }));
}

/**
 * A user or group id from a number or a name. Names go through the system's account databases
 * (getent, so NSS sources such as LDAP count, as they do for chown(1)); node only knows the
 * current user.
 */
function accountId(kind: 'user' | 'group', value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  let line = '';
  try {
    line = execFileSync('getent', [kind === 'user' ? 'passwd' : 'group', value], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    /* exit 2: no such entry */
  }
  const id = Number(line.split(':')[2]);
  if (!line || !Number.isInteger(id))
    throw new Error(`no ${kind} named ${JSON.stringify(value)} on this system (setting socket-${kind === 'user' ? 'owner' : 'group'})`);
  return id;
}
