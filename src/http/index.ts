export { serve, makeServer, WSGIServer, hostForUrl, type ServeOptions, type ServerHandle } from './serve.js';
export { HttpDoor, HTTP_DEFAULTS, type HttpOptions } from './server.js';
export { buildEnviron } from './environ.js';
export { splitTarget, decodePath } from '../engine/target.js';
