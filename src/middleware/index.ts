/**
 * tsgi's middleware: each a factory returning `(app) => app`, each in its own module. Stack them with
 * `compose(app, ...middleware)` (re-exported here with `mount`), the first listed outermost.
 * @module
 */
export { compose, mount, type Mounts } from '../compose.js';
export {
  staticFiles,
  staticApp,
  safeJoin,
  parseRange,
  contentType,
  FileRange,
  type StaticOptions,
} from './static.js';
export { compress, negotiateEncoding, isCompressible, type CompressOptions, type Encoding } from './compress.js';
export {
  proxyHeaders,
  compileTrust,
  parseForwarded,
  parseIP,
  PROXY_ORIGINAL_KEY,
  type ProxyHeadersOptions,
  type Trust,
} from './proxy.js';
export {
  accessLog,
  encodeCommon,
  encodeCombined,
  encodeJson,
  encoders,
  formatAccessLine,
  escapeField,
  clfDate,
  requestLine,
  requestTarget,
  type AccessEntry,
  type AccessEncoder,
  type AccessLogFormat,
  type AccessLogOptions,
} from './access-log.js';
export { requestId, getRequestId, isValidRequestId, REQUEST_ID_KEY, type RequestIdOptions } from './request-id.js';
export { errorPage, renderHtml, renderText, wantsHtml, type ErrorPageOptions } from './error-page.js';
