// tsgi/fetch: the bridges between TSGI and the Fetch API (Request/Response), with nothing from
// Node's network modules, so they run wherever Fetch handlers run (Node, Bun, Deno, Workers).
//   toFetchHandler(app)        a TSGI application as `(Request) => Promise<Response>`
//   fromFetchHandler(handler)  a Fetch application (a Hono app) as a TSGI application
export { toFetchHandler, type FetchHandler, type FetchHandlerOptions } from './handler.js';
export {
  fromFetchHandler,
  type ExecutionContext,
  type FetchApplication,
  type FromFetchOptions,
} from './app.js';
export { reasonPhrase } from '../protocol/status.js';
export { defaultRemote, type RemoteInfo, type RemoteResolver } from './environ.js';
export { SIGNAL_KEY } from './signal.js';
export { LightweightResponse, useLightweightResponse } from './response.js';
