// `environ['tsgi.signal']`: an AbortSignal that fires when the client goes away before the response
// is complete, and never on normal completion (unlike some runtimes' request.signal, srvx#152).
// Created on first read, so a request whose application never looks costs nothing.
import type { Environ } from '../spec.js';

/** The environ key of the disconnect signal. */
export const SIGNAL_KEY = 'tsgi.signal';

/** The reason a disconnect signal carries: an `AbortError`, as fetch uses. */
export function disconnectReason(): Error {
  return new DOMException('The client disconnected before the response was complete', 'AbortError');
}

/**
 * Defines `environ['tsgi.signal']` as a getter that makes the signal when first read. `subscribe`
 * then runs once with the function that aborts it: wire it to the transport's disconnect (call it
 * at once if the client is gone already). Assigning the key replaces the getter with the value.
 */
export function defineSignal(environ: Environ, subscribe: (abort: () => void) => void): void {
  Object.defineProperty(environ, SIGNAL_KEY, {
    configurable: true,
    enumerable: true,
    get(this: Environ) {
      const controller = new AbortController();
      setValue(environ, controller.signal);
      subscribe(() => {
        if (!controller.signal.aborted) controller.abort(disconnectReason());
      });
      return controller.signal;
    },
    set(this: Environ, value: unknown) {
      setValue(environ, value);
    },
  });
}

function setValue(environ: Environ, value: unknown): void {
  Object.defineProperty(environ, SIGNAL_KEY, { value, writable: true, enumerable: true, configurable: true });
}

/** `environ['tsgi.signal']` when a door put an AbortSignal there. */
export function signalOf(environ: Environ): AbortSignal | undefined {
  const s = environ[SIGNAL_KEY];
  return s instanceof AbortSignal ? s : undefined;
}
