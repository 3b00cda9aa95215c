// The request body of one request on the net engine: the protocol layer's BodyQueue over the socket.
// The connection feeds it the bytes that follow the head (it decodes chunked itself and takes only
// what belongs to the body), the application pulls them through wsgi.input. A slow reader pauses the
// socket; a client that stalls longer than bodyTimeout, sends a broken chunked body or leaves
// mid-body makes the read reject with a ClientError (400/408), which the engine answers in place of
// a 500, and the connection is not reused.
import type { Socket } from 'node:net';
import { BodyQueue } from '../../protocol/body.js';

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

export class Body extends BodyQueue {
  constructor(
    socket: Socket,
    length: number,
    chunked: boolean,
    expectContinue: boolean,
    timeoutMs: number,
    /** True once the response head has gone out (then 100 Continue would be out of place). */
    responseStarted: () => boolean,
    /** The body is broken or cut: the connection cannot carry another request. */
    onBroken: () => void,
  ) {
    super(socket, {
      framing: chunked ? { kind: 'chunked' } : { kind: 'length', length },
      timeoutMs,
      onBroken,
      // The connection keeps no reference to the socket reads it feeds (only to the bytes after the
      // body, which the queue does not take): wsgi.input may join the pieces in place.
      given: true,
      // Expect: 100-continue: the client waits for this before it sends the body (PEP 3333 R59).
      onFirstPull: expectContinue
        ? (body) => {
            if (!body.complete && !responseStarted() && socket.writable) socket.write(CONTINUE);
          }
        : undefined,
    });
  }
}
