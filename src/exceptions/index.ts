/**
 * tsgi/exceptions: HTTP errors as exceptions that are also TSGI applications, in the manner of
 * Werkzeug's `werkzeug.exceptions`. `abort(404)` throws a NotFound; `exc.asApp()` answers a request
 * with it (HTML, or JSON when `Accept` prefers application/json). docs/exceptions.md.
 * @module
 */
export { HTTPException, acceptQuality, escapeHtml, prefersJson } from './base.js';
export type { HTTPExceptionOptions, RenderedResponse } from './base.js';
export * from './classes.js';
