// Bind addresses as the CLI spells them: `[PROTO://]ADDRESS`, where PROTO is http (the default),
// uwsgi or fastcgi, and ADDRESS is HOST:PORT, [IPv6]:PORT, :PORT, PORT, unix:PATH or fd://N.
import { isIP, isIPv4, isIPv6 } from 'node:net';

import { TsgiError } from '../errors.js';

export type Protocol = 'http' | 'uwsgi' | 'fastcgi';

export interface TcpBind {
  kind: 'tcp';
  protocol: Protocol;
  host: string;
  port: number;
}

export interface UnixBind {
  kind: 'unix';
  protocol: Protocol;
  path: string;
}

export interface FdBind {
  kind: 'fd';
  protocol: Protocol;
  fd: number;
}

export type Bind = TcpBind | UnixBind | FdBind;

/** A --bind address that cannot be parsed (TSGI_ERR_BIND). */
export class BindError extends TsgiError {
  override name = 'BindError';
  constructor(message: string) {
    super('TSGI_ERR_BIND', message);
  }
}

const PROTOCOLS: Protocol[] = ['http', 'uwsgi', 'fastcgi'];

/** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/**
 * Resolves a TCP bind's host name to the address the socket will listen on (--check-config), bounded in
 * time: an address is returned as it is; a name that does not resolve is a BindError naming it.
 */
export async function resolveBind(b: Bind, timeoutMs = 5000): Promise<string> {
  if (b.kind !== 'tcp') return describeBind(b);
  if (isIP(b.host)) return describeBind(b);
  // Loaded here, for a name: the usual bind is an address, and node:dns/promises is 1.4 MB of RSS in
  // the master, which holds it for good once loaded.
  const { lookup } = process.getBuiltinModule('node:dns/promises');
  const found = await Promise.race([
    lookup(b.host).then(
      (r) => r.address,
      (err: NodeJS.ErrnoException) =>
        new BindError(`--bind ${describeBind(b)}: the host name ${JSON.stringify(b.host)} does not resolve (${err.code ?? err.message})`),
    ),
    new Promise<BindError>((r) =>
      setTimeout(() => r(new BindError(`--bind ${describeBind(b)}: resolving ${JSON.stringify(b.host)} took over ${timeoutMs / 1000} s`)), timeoutMs).unref(),
    ),
  ]);
  if (found instanceof BindError) throw found;
  return `${describeBind(b)} (${found})`;
}

/** `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT` (host 127.0.0.1), `unix:PATH`, `fd://N`, each with an optional `PROTO://`. */
export function parseBind(text: string): Bind {
  const fail = (why: string): never => {
    throw new BindError(`--bind ${JSON.stringify(text)}: ${why}`);
  };
  let rest = text;
  let protocol: Protocol = 'http';
  const proto = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text);
  if (proto && proto[1]!.toLowerCase() !== 'fd') {
    const name = proto[1]!.toLowerCase();
    if (name === 'https') fail('TLS is set with --certfile and --keyfile; write the bind without https://');
    if (!PROTOCOLS.includes(name as Protocol)) fail(`unknown protocol ${JSON.stringify(name)}; the protocols are ${PROTOCOLS.join(', ')}`);
    protocol = name as Protocol;
    rest = proto[2]!;
  }
  if (rest.startsWith('unix:')) {
    const path = rest.slice(5);
    if (path === '') fail('unix: needs a path, e.g. unix:/run/tsgi.sock');
    return { kind: 'unix', protocol, path };
  }
  const fd = /^fd:\/\/(.*)$/.exec(rest);
  if (fd) {
    if (!/^\d+$/.test(fd[1]!)) fail(`${JSON.stringify(fd[1])} is not a file descriptor number`);
    return { kind: 'fd', protocol, fd: Number(fd[1]) };
  }
  let host = '127.0.0.1';
  let portText: string;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(rest);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (/^\d+$/.test(rest)) {
    portText = rest;
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon === -1) return fail('expected HOST:PORT, [IPv6]:PORT, PORT, unix:PATH or fd://N');
    if (rest.indexOf(':') !== colon) return fail('an IPv6 address goes in brackets: [::1]:8000');
    if (colon > 0) host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
  }
  if (v6 && !isIPv6(host)) return fail(`${JSON.stringify(host)} is not an IPv6 address`);
  if (!v6 && /^[\d.]+$/.test(host) && !isIPv4(host)) return fail(`${JSON.stringify(host)} is not an IPv4 address (four numbers 0-255, e.g. 127.0.0.1)`);
  if (!v6 && !isIPv4(host) && !HOSTNAME.test(host)) return fail(`${JSON.stringify(host)} is not a host name or an IP address`);
  if (!/^\d+$/.test(portText)) return fail(`${JSON.stringify(portText)} is not a port number`);
  const port = Number(portText);
  if (port > 65535) return fail(`port ${port} is above 65535`);
  return { kind: 'tcp', protocol, host, port };
}

/** How a bind is shown in logs: `http://127.0.0.1:8000`, `uwsgi://unix:/run/a.sock`, `http://fd://3`. */
export function describeBind(b: Bind, port?: number): string {
  const scheme = b.protocol;
  if (b.kind === 'unix') return `${scheme}://unix:${b.path}`;
  if (b.kind === 'fd') return `${scheme}://fd://${b.fd}`;
  const host = b.host.includes(':') ? `[${b.host}]` : b.host;
  return `${scheme}://${host}:${port ?? b.port}`;
}
