// The errors tsgi raises, in one place (the catalogue grows here; docs/errors.md lists it).

/**
 * The request itself is at fault (a body that stalls, breaks off or is malformed): a door's input
 * source rejects with it, and when the application lets it through it is answered with `status`
 * instead of a 500, and the connection is not reused.
 */
export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
