// The request body on node:http: the protocol layer's BodyQueue fed from the IncomingMessage.
// node:http's own buffer counts bytes, not pieces, so one-byte chunks waiting there cost ~100-150
// bytes each (measured: 4 MB a connection before the application reads, when the body waited
// there); here the body flows into the queue and the queue pauses the socket.
//
// Given the response (the HTTP door), the body flows into the queue from the start, bounded by the
// queue's high-water mark, and when the response is over what is left of the body is read and
// dropped, as node:http does with a body nobody read (the connection can carry the next request).
// Without it (the node:http bridge, whose response is the application's), nothing is read before the
// application's first read and node:http keeps what arrives until then.
// Sends `100 Continue` on the first read when the client asked for it (PEP 3333 R59), and times out a
// client that stalls mid-body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyQueue, HIGH_WATER } from '../../protocol/body.js';
import { ClientError } from '../../errors.js';
import { bodyBytesAllocated } from '../../server/young-gc.js';

/**
 * The most of a body the application left unread that is read and dropped after its response, so
 * that the connection can carry the next request. More than this, or a chunked body (no known end: an
 * endless one was read and dropped for the whole request timeout, at 57% CPU), and the connection
 * closes after the response instead, without reading the rest.
 */
export const DISCARD_LIMIT = 1024 * 1024;
/** The most read and dropped while a connection that will not carry another request closes (dropRest). */
const LINGER_DROP = 16 * 1024 * 1024;

export class RequestSource extends BodyQueue {
  private started = false;
  /** Set once the rest of the body is never to be read: nothing resumes the socket any more. */
  private halted = false;
  /** The body's length (Infinity when chunked), for restUnbounded(). */
  declaredLength = Infinity;

  constructor(
    private readonly req: IncomingMessage,
    res: ServerResponse | null,
    timeoutMs: number,
    expectContinue = res !== null,
  ) {
    // Backpressure without node:http's buffer: the message keeps flowing (into the queue), and the
    // socket is paused the way node:http pauses it itself for pipelined requests, with `_paused` set
    // so that the message's next read does not resume it (IncomingMessage._read resumes the socket
    // unless `_paused`). Should that ever not hold (the flag is node:http's, not documented), the
    // message itself is paused past twice the high-water mark: node:http's documented backpressure,
    // which holds up to its 16 KiB buffer of slices more.
    const socket = req.socket as IncomingMessage['socket'] & { _paused?: boolean; parser?: { resume?: () => void } | null };
    let messagePaused = false;
    const flow = {
      pause: () => {
        socket._paused = true;
        socket.pause();
        if (!messagePaused && this !== undefined && this.queuedCost > 2 * HIGH_WATER) {
          messagePaused = true;
          req.pause();
        }
      },
      resume: () => {
        if (this.halted) return;
        socket._paused = false;
        // node:http pauses its parser too when it finds `_paused` set after a read (and resumes it
        // with the socket when its own reason to pause ends): so must we.
        socket.parser?.resume?.();
        if (messagePaused) {
          messagePaused = false;
          req.resume();
        }
        socket.resume();
      },
    };
    super(flow, {
      // llhttp has framed the body (and Input bounds it by CONTENT_LENGTH).
      framing: { kind: 'transport' },
      timeoutMs,
      onFirstPull:
        res === null || !expectContinue
          ? undefined
          : () => {
              // Expect: 100-continue: the client waits for this before it sends the body.
              if (!res.headersSent && !res.writableEnded) res.writeContinue();
            },
    });
    if (res !== null) {
      this.start();
      res.once('close', () => {
        // Closed before it finished: the connection is gone (or node:http refused what followed the
        // head, H31–H37), so an unfinished body is broken, never an early end.
        if (!res.writableFinished && !req.complete) this.fail(cut());
        // The application is done: drop the rest (the queue resumes the socket if it paused it).
        this.close();
      });
    }
  }

  /**
   * The body is not all in and what is left of it is too much to read and drop after the response
   * (see DISCARD_LIMIT): the response must close the connection instead.
   */
  restUnbounded(): boolean {
    if (this.req.complete || this.complete || this.failed) return false;
    return !Number.isFinite(this.declaredLength) || this.declaredLength - this.bytesReceived > DISCARD_LIMIT;
  }

  /**
   * The rest of the body will not be used, and the connection is about to close: what the client still
   * sends is read and dropped, up to LINGER_DROP bytes (a client finishing an upload it started meets a
   * clean close, not a reset on its next write), then the socket stops reading for good (an endless
   * body costs nothing more).
   */
  dropRest(): void {
    this.close();
    const req = this.req;
    let dropped = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytesAllocated(chunk.length);
      dropped += chunk.length;
      if (dropped > LINGER_DROP && !this.halted) this.halt();
    });
    const socket = req.socket as IncomingMessage['socket'] & { _paused?: boolean; parser?: { resume?: () => void } | null };
    socket._paused = false;
    socket.parser?.resume?.();
    socket.resume();
    req.resume();
  }

  /** The rest of the body will never be read: the socket stops reading for good (it is about to close). */
  halt(): void {
    this.halted = true;
    const socket = this.req.socket as IncomingMessage['socket'] & { _paused?: boolean; parser?: { pause?: () => void } | null };
    socket._paused = true;
    socket.parser?.pause?.();
    socket.pause();
    this.req.pause();
  }

  override pullNow(): Uint8Array | null | undefined {
    if (!this.started) this.start();
    return super.pullNow();
  }

  override pull(): Promise<Uint8Array | null> {
    if (!this.started) this.start();
    return super.pull();
  }

  override waitNow(wake: () => void): void {
    if (!this.started) this.start();
    super.waitNow(wake);
  }

  private start(): void {
    this.started = true;
    const req = this.req;
    if (req.readableEnded) return this.end();
    if (req.destroyed && !req.complete) return this.fail(cut());
    req.on('data', (chunk: Buffer) => {
      bodyBytesAllocated(chunk.length);
      this.feed(chunk);
    });
    req.on('end', () => this.end());
    req.on('error', (err: Error) => this.fail(new ClientError(400, `the request body could not be read: ${err.message}`, 'TSGI_ERR_BODY_INCOMPLETE')));
    req.on('close', () => {
      if (!req.complete) this.fail(cut());
    });
  }
}

function cut(): ClientError {
  return new ClientError(400, 'the client closed the connection before the end of the body', 'TSGI_ERR_BODY_INCOMPLETE');
}
