// The request body on node:http: the protocol layer's BodyQueue fed from the IncomingMessage, whose
// backpressure pauses the socket itself. node:http then holds no body of its own: its buffer counts
// bytes, not pieces, so one-byte chunks waiting there cost ~150 bytes each (measured: 4 MB a
// connection before the application reads).
//
// Given the response (the HTTP door), the body flows into the queue from the start, bounded by the
// queue's high-water mark, and when the response is over what is left of the body is read and
// dropped, as node:http does with a body nobody read (the connection can carry the next request).
// Without it (the node:http bridge, whose response is the application's), nothing is read before the
// application's first read and node:http keeps what arrives until then.
// Sends `100 Continue` on the first read when the client asked for it (PEP 3333 R59), and times out a
// client that stalls mid-body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyQueue } from '../../protocol/body.js';
import { ClientError } from '../../errors.js';

export class RequestSource extends BodyQueue {
  private started = false;

  constructor(
    private readonly req: IncomingMessage,
    res: ServerResponse | null,
    timeoutMs: number,
    expectContinue = res !== null,
  ) {
    const socket = req.socket;
    super(
      { pause: () => socket.pause(), resume: () => socket.resume() },
      {
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
      },
    );
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

  override pull(): Promise<Uint8Array | null> {
    if (!this.started) this.start();
    return super.pull();
  }

  private start(): void {
    this.started = true;
    const req = this.req;
    if (req.readableEnded) return this.end();
    if (req.destroyed && !req.complete) return this.fail(cut());
    req.on('data', (chunk: Buffer) => this.feed(chunk));
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
