// Bind addresses as the CLI spells them.

export interface TcpBind {
  kind: 'tcp';
  host: string;
  port: number;
}

export type Bind = TcpBind;

export class BindError extends Error {
  override name = 'BindError';
}

/** `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT` (host 127.0.0.1). */
export function parseBind(text: string): Bind {
  const fail = (why: string): never => {
    throw new BindError(`--bind ${JSON.stringify(text)}: ${why}`);
  };
  let host = '127.0.0.1';
  let portText: string;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (/^\d+$/.test(text)) {
    portText = text;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon === -1) return fail('expected HOST:PORT, [IPv6]:PORT or PORT');
    if (text.indexOf(':') !== colon) return fail('an IPv6 address goes in brackets: [::1]:8000');
    if (colon > 0) host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^\d+$/.test(portText)) return fail(`${JSON.stringify(portText)} is not a port number`);
  const port = Number(portText);
  if (port > 65535) return fail(`port ${port} is above 65535`);
  return { kind: 'tcp', host, port };
}
