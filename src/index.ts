// tsgi: PEP 3333 for TypeScript. The main entry point gathers what most programs use; the
// sub-paths (tsgi/http, tsgi/engine, tsgi/testing, tsgi/util, tsgi/headers) hold the rest.
export type {
  Application,
  Body,
  Bytes,
  Chunk,
  Environ,
  EnvironExtensions,
  EnvironRecord,
  ErrorStream,
  ExcInfo,
  FileLike,
  FileWrapperFactory,
  HeaderList,
  InputStream,
  Middleware,
  StartResponse,
  Status,
  Write,
} from './spec.js';
export { WSGI_VERSION } from './spec.js';
export { serve, makeServer, WSGIServer, type ServeOptions, type ServerHandle } from './http/serve.js';
export type { HttpOptions } from './http/node/server.js';
export { runApp, ClientError, type Sink } from './runner/handler.js';
export { TsgiError, ERRORS, type ErrorCode } from './errors.js';
export { VERSION } from './version.js';
export { compose, mount, type Mounts } from './compose.js';
export { validate, ValidationError, WSGIWarning } from './validate.js';
