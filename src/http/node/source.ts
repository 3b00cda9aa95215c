// The request body on node:http: the protocol layer's BodyQueue fed from the IncomingMessage. Nothing
// is read before the application's first read (an unread body stays with node:http, which discards
// it after the response); from then on the message flows into the queue, and the queue's backpressure
// pauses the socket itself, so node:http holds no body of its own (its buffer counts bytes, not
// pieces: one-byte chunks would cost ~100 bytes each there). Sends `100 Continue` on the first read
// when the client asked for it (PEP 3333 R59), and times out a client that stalls mid-body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyQueue } from '../../protocol/body.js';
import { ClientError } from '../../errors.js';

export class RequestSource extends BodyQueue {
  private started = false;

  constructor(
    private readonly req: IncomingMessage,
    res: ServerResponse | null,
    timeoutMs: number,
  ) {
    const socket = req.socket;
    super(
      { pause: () => socket.pause(), resume: () => socket.resume() },
      {
        // llhttp has framed the body; the declared length still bounds it.
        framing: { kind: 'transport' },
        timeoutMs,
        onFirstPull:
          res === null
            ? undefined
            : () => {
                // Expect: 100-continue: the client waits for this before it sends the body.
                if (!res.headersSent && !res.writableEnded) res.writeContinue();
              },
      },
    );
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
