// The engine's public face: run an application over a Sink, and the pieces doors build with.
export { runApp, ClientError, type Sink, type RunOptions } from './handler.js';
export { Input, EMPTY_INPUT, bytesSource, type ByteSource } from './input.js';
export { LogErrors, streamLogger, silentLogger, formatError, type Logger } from './log.js';
export { AssertionError, ValueError, checkStatus, checkHeaders, isToken, isHopByHopName } from './checks.js';
export { utf8, latin1Bytes, nativeString, toBytes, concat, EMPTY } from '../protocol/bytes.js';
export { splitTarget, decodePath } from '../protocol/target.js';
export { headerKey } from '../protocol/names.js';
export {
  environFromHead,
  environFromCgi,
  protocolName,
  unmapIPv4,
  joinField,
  type EnvironBase,
  type HeadBase,
  type HeadFacts,
  type CgiRules,
  type Endpoints,
} from '../protocol/environ.js';
