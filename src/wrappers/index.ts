/**
 * tsgi/wrappers: Werkzeug-style `Request` and `Response` objects over TSGI, and `handler()` to write an
 * application as `(request) => response`. docs/wrappers.md is the guide.
 * @module
 */
export { handler, type HandlerOptions, type HandlerResult } from './app.js';
export { Request, ETags, RangeHeader, type RequestOptions } from './request.js';
export { Response, statusLine, contentDisposition, type ResponseBody, type ResponseInit, type FileResponseInit } from './response.js';
export { MultiDict } from './multidict.js';
export { UploadedFile } from './files.js';
export { RequestHeaders, parseOptionsHeader } from './headers.js';
export { Accept, type AcceptItem, type AcceptKind } from './accept.js';
export { serializeCookie, parseCookies, type CookieOptions } from './cookies.js';
export { parseUrlEncoded } from './urlencoded.js';
export {
  evaluatePreconditions,
  etagMatches,
  ifRangeHolds,
  parseHttpDate,
  parseRange,
  selectRange,
  statEtag,
  type Precondition,
  type Validators,
} from '../protocol/conditional.js';
