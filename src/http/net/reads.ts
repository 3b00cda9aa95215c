// Socket reads into buffers the engine chooses, instead of a new buffer per read.
//
// Why: a net.Socket read the usual way ('data') costs, per read, a 64 KiB malloc shrunk by realloc, a
// new ArrayBuffer that the next scavenge must sweep, and a push through the socket's Readable stream
// to its 'data' event. node:http does not pay it (its C++ parser reads the socket itself). On keep-alive
// hello requests the floor responder (bench/servers/node-net.mjs) served 16-32% more requests per
// CPU-second reading into one reused buffer, and tsgi ran 35% fewer instructions per request.
//
// Node offers exactly that as the `onread` option ({ buffer, callback }, buffer may be a function that
// picks the buffer of the next read), but only to a net.Socket its caller constructs; the sockets a
// net.Server accepts are constructed inside node and cannot take it. So this sets on an accepted
// socket what the option would have set (the socket's own kBuffer / kBufferCb / kBufferGen symbols
// and its handle's useUserBuffer(), as net.Socket's constructor does), after checking that each is
// there and unused. Where any is missing (another runtime, a future Node), `readInto` says no and the
// engine reads with 'data' as before: the same bytes either way (test/http/net-reads.test.ts checks
// that the fast path is taken on the Node versions the package supports).
//
// What the callback is given is a view of a buffer that the next read overwrites: whoever keeps bytes
// beyond the call must copy them, or have asked for a buffer of its own for the next read.
import type { Socket } from 'node:net';

/** What node's net.Socket keeps for `onread`, found on a socket by the symbols' descriptions. */
interface Hooks {
  buffer: symbol;
  callback: symbol;
  next: symbol;
}

let hooks: Hooks | null | undefined;

function find(socket: Socket): Hooks | null {
  const own = Object.getOwnPropertySymbols(socket);
  const named = (d: string) => own.find((s) => s.description === d);
  const buffer = named('kBuffer');
  const callback = named('kBufferCb');
  const next = named('kBufferGen');
  if (buffer === undefined || callback === undefined || next === undefined) return null;
  return { buffer, callback, next };
}

type Handle = { useUserBuffer?: (buf: Uint8Array) => void };

/**
 * From the next read on, `socket`'s reads go into `first`, then into whatever `next()` returns after each
 * read (node calls it right after `onRead`, without `this`). `onRead(n, buf)` is called with `this` the
 * socket: the first `n` bytes of `buf` were read. Returns false (and changes nothing) when this Node does
 * not allow it: read with 'data' then. For a plain socket a net.Server accepted, before its first read
 * (TLS sockets read through TLS).
 */
export function readInto(socket: Socket, first: Buffer, onRead: (this: Socket, n: number, buf: Buffer) => void, next: () => Buffer): boolean {
  if (hooks === undefined) hooks = find(socket);
  if (hooks === null) return false;
  const s = socket as unknown as Record<symbol, unknown> & { _handle?: Handle | null };
  const handle = s._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function') return false;
  // Unused: null as the constructor leaves it (a socket made with onread is left alone); and nothing
  // read yet that would wait in the stream's buffer, unseen by the callback.
  if (s[hooks.buffer] !== null || s[hooks.callback] !== null || socket.readableLength > 0) return false;
  s[hooks.buffer] = first;
  s[hooks.callback] = onRead;
  s[hooks.next] = next;
  handle.useUserBuffer(first);
  return true;
}
