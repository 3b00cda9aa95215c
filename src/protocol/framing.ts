// What a parsed request head means for the connection (RFC 9112 §6, RFC 9110 §7.2, §10.1.1), decided
// once for both HTTP engines: the net engine calls it on its own parse (src/protocol/head.ts), the
// node engine on llhttp's (IncomingMessage's method, url, httpVersion and rawHeaders). llhttp already
// refuses some of what is refused here and lets the rest through (an `ftp:` target, `GET *`, a
// transfer coding before chunked, a missing Host when node's own check is off), so every request
// reaches the application only once this has said yes, and both engines give the same verdict.
//
// Pure: no I/O, no state. The result is the body framing, whether the connection may stay open, and
// whether the client waits for `100 Continue`; or the ClientError to answer (then close).
import { ClientError } from '../errors.js';
import { isToken, listMembers, sameToken } from './fields.js';
import { checkTarget, isHostPort } from './target.js';

/** The parts of a request head the rules read. */
export interface ParsedHead {
  readonly method: string;
  /** The request-target as received. */
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and for HTTP/1.2–1.9, served as 1.1: RFC 9110 §2.5). */
  readonly versionMinor: number;
  /** [name, value, name, value, ...] as received, values without their surrounding OWS. */
  readonly rawHeaders: readonly string[];
}

export interface Framing {
  /** How the body is delimited: none, Content-Length bytes, or chunked (RFC 9112 §6.3). */
  body: 'none' | 'length' | 'chunked';
  /** Body bytes: the Content-Length, 0 without a body, Infinity when chunked (known at its end). */
  length: number;
  /** The connection may carry another request after this one. */
  keepAlive: boolean;
  /** HTTP/1.1 `Expect: 100-continue`: the client waits for `100 Continue` before it sends the body. */
  expectContinue: boolean;
}

const CL_DIGITS = /^[0-9]{1,15}$/;
/**
 * The last Host that passed isHostPort(): a client sends the same Host on every request, so an equal string
 * is answered without the check (a comparison of a few characters, against a pass over them with a table
 * lookup each: ~6% of the net engine's JavaScript per keep-alive request). The check is a function of the
 * string alone, so an equal string passes it too.
 */
let lastHost = '';

/**
 * The framing of a request, or why it is refused. In order: Content-Length and Transfer-Encoding
 * (which llhttp checks as it reads the head), the target's form (target.ts), Host, Content-Type,
 * Connection, Expect, so that a request with several faults gets the same answer from both engines.
 */
export function frameRequest(head: ParsedHead): Framing | ClientError {
  const http10 = head.versionMinor === 0;
  const raw = head.rawHeaders;
  let hosts = 0;
  let host = '';
  let cl: string | undefined;
  let te: string[] | undefined;
  let connection: string[] | undefined;
  let expect: string[] | undefined;
  let contentTypes = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Only five names matter here; compare lengths first (this runs on every request).
    switch (name.length) {
      case 4:
        if (sameToken(name, 'host')) {
          hosts++;
          host = raw[i + 1]!;
        }
        break;
      case 6:
        if (sameToken(name, 'expect')) (expect ??= []).push(raw[i + 1]!);
        break;
      case 10:
        if (sameToken(name, 'connection')) (connection ??= []).push(raw[i + 1]!);
        break;
      case 12:
        if (sameToken(name, 'content-type')) contentTypes++;
        break;
      case 14:
        if (sameToken(name, 'content-length')) {
          // RFC 9110 §8.6 lets a recipient accept repeated equal values (`5, 5` or two lines of 5) or
          // reject them; llhttp rejects both, gunicorn rejects the list, so one field, one number.
          if (cl !== undefined) return new ClientError(400, 'more than one Content-Length field', 'TSGI_ERR_CONTENT_LENGTH');
          cl = raw[i + 1]!;
        }
        break;
      case 17:
        if (sameToken(name, 'transfer-encoding')) (te ??= []).push(raw[i + 1]!);
        break;
    }
  }
  let body: Framing['body'] = 'none';
  let length = 0;
  if (te !== undefined) {
    // §6.1: Transfer-Encoding with Content-Length is a smuggling attempt or a broken proxy: refuse
    // (the server MUST close after it anyway).
    if (cl !== undefined) return new ClientError(400, 'both Transfer-Encoding and Content-Length', 'TSGI_ERR_TRANSFER_ENCODING');
    const codings = listMembers(te);
    const shown = JSON.stringify(te.join(', ').slice(0, 64));
    // §6.3 item 4: chunked not the final coding: the length cannot be known: 400, then close.
    // Exactly the token `chunked`: a member that only looks like it (`chunked\xa0`, `chunked;x`) is not.
    if (codings.length === 0 || !sameToken(codings[codings.length - 1]!, 'chunked')) {
      return new ClientError(400, `Transfer-Encoding ${shown} does not end with chunked`, 'TSGI_ERR_TRANSFER_ENCODING');
    }
    for (let i = 0; i < codings.length - 1; i++) {
      const coding = codings[i]!;
      // §6.1: chunked MUST NOT be applied more than once.
      if (sameToken(coding, 'chunked')) return new ClientError(400, `Transfer-Encoding ${shown} applies chunked twice`, 'TSGI_ERR_TRANSFER_ENCODING');
      const semi = coding.indexOf(';');
      if (!isToken((semi === -1 ? coding : coding.slice(0, semi)).replace(/[ \t]+$/, ''))) {
        return new ClientError(400, `Transfer-Encoding ${shown}: ${JSON.stringify(coding)} is not a coding`, 'TSGI_ERR_TRANSFER_ENCODING');
      }
    }
    // `gzip, chunked`: the body's end is known (chunked is last), but tsgi does not undo gzip and an
    // application handed the still-encoded bytes could not tell. §6.1: a server that receives a
    // transfer coding it does not understand SHOULD answer 501. (`identity` is no longer a transfer
    // coding: RFC 9112 removed it from the registry.) 400 is for framing that cannot be known (§6.3);
    // this framing can, so the answer is 501.
    if (codings.length > 1) return new ClientError(501, `Transfer-Encoding ${shown}: only chunked is understood`, 'TSGI_ERR_TRANSFER_CODING');
    body = 'chunked';
    length = Infinity;
  } else if (cl !== undefined) {
    // 1*DIGIT (no sign, no space, no list); at most 15 digits, which stays an exact JavaScript number.
    if (!CL_DIGITS.test(cl)) return new ClientError(400, `malformed Content-Length ${JSON.stringify(cl.slice(0, 32))}`, 'TSGI_ERR_CONTENT_LENGTH');
    body = 'length';
    length = Number(cl);
  }

  // Then the target's form (target.ts): after the framing, because llhttp checks Content-Length and
  // Transfer-Encoding while it reads the head, before the node engine can look at the target.
  const bad = checkTarget(head.method, head.target);
  if (bad !== null) return bad;

  // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, for two Host lines, and for a Host that
  // is not a valid host[:port] (an empty one is allowed: a target without an authority).
  if (hosts > 1) return new ClientError(400, 'more than one Host field', 'TSGI_ERR_HOST');
  if (hosts === 0 && !http10) return new ClientError(400, 'HTTP/1.1 request without Host', 'TSGI_ERR_HOST');
  if (hosts === 1 && host.length > 0 && host !== lastHost) {
    if (!isHostPort(host)) return new ClientError(400, `invalid Host ${JSON.stringify(host.slice(0, 64))}`, 'TSGI_ERR_HOST');
    lastHost = host;
  }

  // RFC 9110 §5.3: only a list-valued field may be sent as several lines. Content-Type is one value
  // (§8.3): two of them joined make a type no one sent, and which one a proxy or the application
  // believes is anyone's guess. gunicorn refuses it too.
  if (contentTypes > 1) return new ClientError(400, 'more than one Content-Type field', 'TSGI_ERR_FIELD');

  // Persistence (RFC 9112 §9.3): HTTP/1.1 stays open unless `close`; HTTP/1.0 closes unless `keep-alive`.
  let keepAlive = !http10;
  if (connection !== undefined) {
    const options = listMembers(connection);
    if (options.some((o) => sameToken(o, 'close'))) keepAlive = false;
    else if (http10 && options.some((o) => sameToken(o, 'keep-alive'))) keepAlive = true;
  }
  // §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing: processed, then the
  // connection closes, whatever Connection says (hostile catalogue H20).
  if (http10 && body === 'chunked') keepAlive = false;

  // RFC 9110 §10.1.1: 100-continue is the only expectation; anything else may be answered 417. A
  // server MUST ignore a 100-continue in an HTTP/1.0 request, and node:http ignores Expect on 1.0
  // altogether, so both engines do.
  let expectContinue = false;
  if (expect !== undefined && !http10) {
    for (const e of listMembers(expect)) {
      if (!sameToken(e, '100-continue')) return new ClientError(417, `unsupported expectation ${JSON.stringify(e.slice(0, 64))}`, 'TSGI_ERR_EXPECTATION');
      expectContinue = true;
    }
  }
  return { body, length, keepAlive, expectContinue };
}
