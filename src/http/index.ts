export { serve, makeServer, WSGIServer, hostForUrl, type ServeOptions, type ServerHandle } from './serve.js';
export { HttpDoor, HTTP_DEFAULTS, type HttpOptions } from './node/server.js';
export { requestEnviron, type EnvironBase, type RequestHead } from './common/environ.js';
export { splitTarget, decodePath } from '../protocol/target.js';
