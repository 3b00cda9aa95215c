// Bind addresses as the CLI spells them: `[PROTO://]ADDRESS`, where PROTO is http (the default),
// uwsgi or fastcgi, and ADDRESS is HOST:PORT, [IPv6]:PORT, :PORT, PORT, unix:PATH or fd://N.

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
