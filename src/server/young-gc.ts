// A young-generation collection after every 16 MiB of request-body buffers, so that V8 frees them with
// a scavenge rather than a full mark-compact.
//
// Why: each body buffer is an ArrayBuffer whose memory V8 counts as external: the net engine's 64 KiB
// buffers (src/http/net/connection.ts), and node's own buffer per socket read under node:http (the node
// engine), uwsgi and FastCGI, which call this with the bytes of each body piece.
// An application reads and drops them, so they die young, but only a scavenge or a full GC frees them,
// and a server allocates so little on its JavaScript heap per request that scavenges are rare (one per
// ~1,000 1 MiB uploads). Meanwhile V8 starts a full mark-compact each time external memory has grown by
// 64 MB since the last one: `node --trace-gc` on `bench/apps/tsgi.ts:upload` showed a mark-compact
// every 64 requests (74 in 5 s, 5 scavenges), and callgrind put V8's concurrent marking at 60% of the
// instructions of a 1 MiB upload. A scavenge costs what is alive in the young generation (a few
// connections' objects), a mark-compact the whole heap. With a scavenge every 16 MiB the same run
// needs no mark-compact for the body buffers, and 1 MiB uploads went from 1.2-1.5x node:http's requests
// per CPU-second to 2-3x (docs/engine.md, "request bodies and the GC"). 32 MiB was too close to V8's
// 64 MB: it kept half the mark-compacts.
//
// Node gives no call for a minor GC without --expose-gc; the flag set at run time makes `gc` available
// in a new context (the `v8.setFlagsFromString` example of Node's docs), and is unset right after, so
// the application's own global is left as it was. Where that fails (another runtime), this does
// nothing and V8 collects as it always does.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const EVERY = 16 * 1024 * 1024;

type Gc = (options: { type: 'minor' }) => void;

function findGc(): Gc | null {
  // Started with --expose-gc: the global is there, and the flag is left set.
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as Gc;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as Gc) : null;
  } catch {
    return null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

let gc: Gc | null | undefined;
let since = 0;

/** Counts `bytes` of body buffers just allocated; runs a scavenge after every 16 MiB of them. */
export function bodyBytesAllocated(bytes: number): void {
  since += bytes;
  if (since < EVERY) return;
  since = 0;
  if (gc === undefined) gc = findGc();
  gc?.({ type: 'minor' });
}
