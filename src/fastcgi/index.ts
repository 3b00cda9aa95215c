// The FastCGI door: tsgi as a FastCGI responder behind nginx `fastcgi_pass`, Apache mod_proxy_fcgi
// and lighttpd mod_fastcgi. docs/deploy.md (## FastCGI) shows the front-end configurations.
export { serveFastcgi, FastcgiDoor, FASTCGI_DEFAULTS, type FastcgiOptions, type FastcgiServerHandle } from './serve.js';
export { buildEnviron, FASTCGI_RULES, type FastcgiBase, type FastcgiRequest } from './environ.js';
export { type Endpoints as ConnectionInfo } from '../protocol/environ.js';
export {
  FCGI,
  ROLE,
  PROTOCOL_STATUS,
  KEEP_CONN,
  MAX_CONTENT,
  HEADER_SIZE,
  RecordParser,
  ProtocolError,
  decodePairs,
  encodePairs,
  encodeRecord,
  encodeStream,
  beginRequest,
  endRequest,
  unknownType,
  parseBegin,
  parseEnd,
  parseRecords,
  writeHeader,
  type FcgiRecord,
} from '../protocol/fastcgi.js';
