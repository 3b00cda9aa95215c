// The request body as a ByteSource, pulled from node:http's IncomingMessage in paused mode so that a
// slow application applies backpressure to the client. Sends `100 Continue` on the first read when
// the client asked for it (PEP 3333 R59), and times out a client that stalls mid-body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ByteSource } from '../../runner/input.js';
import { ClientError } from '../../runner/handler.js';

export class RequestSource implements ByteSource {
  constructor(
    private readonly req: IncomingMessage,
    private res: ServerResponse | null,
    private readonly timeoutMs: number,
  ) {}

  pull(): Promise<Uint8Array | null> {
    const req = this.req;
    if (this.res !== null) {
      // Expect: 100-continue: the client waits for this before it sends the body.
      if (!this.res.headersSent && !this.res.writableEnded) this.res.writeContinue();
      this.res = null;
    }
    const chunk = req.read() as Uint8Array | null;
    if (chunk !== null) return Promise.resolve(chunk);
    if (req.readableEnded) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        req.off('readable', onReadable);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
      };
      const onReadable = () => {
        const c = req.read() as Uint8Array | null;
        if (c !== null) {
          cleanup();
          resolve(c);
        }
      };
      const onEnd = () => {
        cleanup();
        resolve(null);
      };
      const onError = (err: Error) => {
        cleanup();
        reject(new ClientError(400, `the request body could not be read: ${err.message}`));
      };
      const onClose = () => {
        cleanup();
        if (req.complete) resolve(null);
        else reject(new ClientError(400, 'the client closed the connection before the end of the body'));
      };
      req.on('readable', onReadable);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
      if (this.timeoutMs > 0) {
        timer = setTimeout(() => {
          cleanup();
          reject(new ClientError(408, `no request body data for ${this.timeoutMs} ms`));
        }, this.timeoutMs);
      }
    });
  }
}
