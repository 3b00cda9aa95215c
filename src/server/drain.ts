// Waiting for a writable (a socket, a ServerResponse) to take more, for the doors' Sink.drain():
// resolves on 'drain', or on 'close' so that a client that has gone never leaves a body waiting.
import type { EventEmitter } from 'node:events';

export function drained(w: EventEmitter & { readonly writableNeedDrain: boolean; readonly destroyed: boolean }): Promise<void> {
  if (w.destroyed || !w.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
  });
}
