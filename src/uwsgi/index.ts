// The uwsgi door: tsgi behind nginx `uwsgi_pass`, Apache `ProxyPass uwsgi://`, lighttpd's uwsgi
// module and the uWSGI HTTP router. docs/deploy.md shows the front-end configurations.
export { serveUwsgi, type UwsgiServerHandle } from './serve.js';
export { UwsgiDoor, UWSGI_DEFAULTS, type UwsgiOptions } from './door.js';
export {
  UwsgiParser,
  PacketError,
  MAX_VARS_SIZE,
  parseVars,
  encodePacket,
  looksLikeHttp,
  looksLikeUwsgi,
  type Packet,
  type PacketErrorKind,
  type Parsed,
} from '../protocol/uwsgi.js';
export { ChunkedDecoder } from '../protocol/chunked.js';
export { buildEnviron, UWSGI_RULES, type UwsgiBase, type BodyFraming, type Request } from './environ.js';
export { mergeVars, type Endpoints as ConnectionInfo } from '../protocol/environ.js';
export { allowList, LOOPBACK, type AllowCheck } from '../server/trust.js';
