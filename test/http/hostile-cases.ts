// The hostile-input catalogue of shared/research/reliability.md (c) (C1–C6, H1–H56) as data: the raw
// requests and what each must end in. hostile.test.ts replays them against one engine (whole, byte by
// byte, in random splits); parity.test.ts sends them to both engines and asserts the same outcome.
import assert from 'node:assert/strict';
import { SMUGGLED as S } from './raw-client.js';

export interface Row {
  id: string;
  title: string;
  bytes: Buffer;
  /** The statuses the first response may have. */
  expect: number[];
  /** Closing without any response is also a safe end (the catalogue's "refuse ... or close"). */
  closeOk?: boolean;
  /** How many responses: exactly this many (default: at most one). */
  responses?: number;
  /** For a 2xx answer: what the echo body must start with (`ECHO <METHOD> <PATH_INFO>`). */
  echo?: string;
  /** More checks on a 2xx answer. */
  check?: (body: string) => void;
  /**
   * The head is valid and the error is in the body (H31–H37): node:http hands the request over at the
   * end of its head, so the application runs, but its read of the body must fail (never a short or
   * broken body presented as whole).
   */
  bodyError?: boolean;
  /** The bound for one exchange (default 5 s). */
  timeoutMs?: number;
}

const b = (s: string) => Buffer.from(s, 'latin1');
const MiB = 1024 * 1024;
export const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('');
export const pad4 = (i: number) => String(i).padStart(4, '0');

/** For H23/H26/H28: an application that got the header must never see a raw CR, LF or NUL in it. */
const noRawControls = (body: string) => {
  const hex = /xecho=([0-9a-f]*)/.exec(body)?.[1] ?? '';
  const raw = Buffer.from(hex, 'hex');
  assert.ok(!raw.includes(0x0d) && !raw.includes(0x0a) && !raw.includes(0x00), `X-Echo reached the app raw: ${hex}`);
};

export const ROWS: Row[] = [
  // Controls: the door must answer these (and C2 proves it answers pipelined requests, so the smuggling
  // detector below is not vacuous).
  { id: 'C1', title: 'valid GET', bytes: b('GET /c1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'), expect: [200], echo: 'ECHO GET /c1\n' },
  {
    id: 'C2',
    title: 'two pipelined GETs (keep-alive probe)',
    bytes: b('GET /c2a HTTP/1.1\r\nHost: h\r\n\r\nGET /c2b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'),
    expect: [200],
    responses: 2,
    echo: 'ECHO GET /c2a\n',
  },
  {
    id: 'C3',
    title: 'POST with Content-Length',
    bytes: b('POST /c3 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello'),
    expect: [200],
    echo: 'ECHO POST /c3\nlen=5\n',
  },
  {
    id: 'C4',
    title: 'POST chunked',
    bytes: b('POST /c4 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    expect: [200],
    echo: 'ECHO POST /c4\nlen=5\n',
  },
  {
    id: 'C5',
    title: 'POST chunked with chunk extensions',
    bytes: b('POST /c5 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;a=b\r\nhello\r\n0;c="d"\r\n\r\n'),
    expect: [200],
    echo: 'ECHO POST /c5\nlen=5\n',
  },
  { id: 'C6', title: 'HTTP/1.0 GET without Host', bytes: b('GET /c6 HTTP/1.0\r\n\r\n'), expect: [200], echo: 'ECHO GET /c6\n' },

  // Smuggling and framing. DESIGN.md: bad or duplicate Content-Length and Content-Length with
  // Transfer-Encoding are answered 400 (llhttp's strict mode refuses them all).
  {
    id: 'H1',
    title: 'CL.TE: Content-Length and chunked; CL covers a 2nd request',
    bytes: b(`POST /h1 HTTP/1.1\r\nHost: h\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${S}`),
    expect: [400],
  },
  {
    id: 'H2',
    title: 'TE.CL: chunk holds a 2nd request, CL covers only the size line',
    bytes: b(`POST /h2 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n23\r\n${S}\r\n0\r\n\r\n`),
    expect: [400],
  },
  {
    id: 'H3',
    title: 'duplicate Content-Length 0 then N',
    bytes: b(`POST /h3 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 35\r\n\r\n${S}`),
    expect: [400],
  },
  {
    id: 'H4',
    title: 'duplicate Content-Length N then 0',
    bytes: b(`POST /h4 HTTP/1.1\r\nHost: h\r\nContent-Length: 35\r\nContent-Length: 0\r\n\r\n${S}`),
    expect: [400],
  },
  { id: 'H5', title: 'negative Content-Length -1', bytes: b(`POST /h5 HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n${S}`), expect: [400] },
  { id: 'H6', title: 'Content-Length with plus sign +0', bytes: b(`POST /h6 HTTP/1.1\r\nHost: h\r\nContent-Length: +0\r\n\r\n${S}`), expect: [400] },
  {
    id: 'H7',
    title: 'Content-Length 2^64+5 (wraps to 5 in 64-bit)',
    bytes: b(`POST /h7 HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551621\r\n\r\nhello${S}`),
    expect: [400, 413],
  },
  { id: 'H8', title: 'non-numeric Content-Length', bytes: b(`POST /h8 HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n${S}`), expect: [400] },
  { id: 'H9', title: "Content-Length '0 N' (internal space)", bytes: b(`POST /h9 HTTP/1.1\r\nHost: h\r\nContent-Length: 0 35\r\n\r\n${S}`), expect: [400] },
  { id: 'H10', title: 'empty Content-Length value', bytes: b(`POST /h10 HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n${S}`), expect: [400] },
  { id: 'H11', title: 'hex Content-Length 0x..', bytes: b(`POST /h11 HTTP/1.1\r\nHost: h\r\nContent-Length: 0x23\r\n\r\n${S}`), expect: [400] },
  {
    id: 'H12',
    title: 'Transfer-Encoding: chunked, identity (chunked not last), raw 2nd request',
    bytes: b(`POST /h12 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n${S}`),
    expect: [400, 501],
  },
  {
    id: 'H13',
    title: 'two Transfer-Encoding: chunked lines, raw 2nd request',
    bytes: b(`POST /h13 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${S}`),
    expect: [400],
  },
  {
    id: 'H14',
    title: "TE.CL with unknown coding 'xchunked' + Content-Length",
    bytes: b(`POST /h14 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\n23\r\n${S}\r\n0\r\n\r\n`),
    expect: [400, 501],
  },
  {
    id: 'H15',
    title: "'Transfer-Encoding : chunked' (space before colon) + CL",
    bytes: b(`POST /h15 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding : chunked\r\n\r\n23\r\n${S}\r\n0\r\n\r\n`),
    expect: [400],
  },
  {
    id: 'H16',
    title: "'Transfer-Encoding:<TAB>chunked' + CL",
    bytes: b(`POST /h16 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding:\tchunked\r\n\r\n23\r\n${S}\r\n0\r\n\r\n`),
    expect: [400],
  },
  {
    id: 'H17',
    title: "Transfer-Encoding: chunked + second TE line 'x' + CL",
    bytes: b(`POST /h17 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n23\r\n${S}\r\n0\r\n\r\n`),
    expect: [400, 501],
  },
  {
    id: 'H18',
    title: 'Transfer-Encoding obs-folded onto next line + CL',
    bytes: b(`POST /h18 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding:\r\n chunked\r\n\r\n23\r\n${S}\r\n0\r\n\r\n`),
    expect: [400],
  },
  {
    id: 'H19',
    title: "whitespace-led first header line ' Transfer-Encoding: chunked' + CL",
    bytes: b(`POST /h19 HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: h\r\nContent-Length: 40\r\n\r\n0\r\n\r\n${S}`),
    expect: [400],
  },
  {
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing: process it (or
    // refuse it), and close the connection after it, whatever Connection says.
    id: 'H20',
    title: 'chunked body in an HTTP/1.0 keep-alive request, then 2nd request',
    bytes: b(`POST /h20 HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${S}`),
    expect: [200, 400],
    echo: 'ECHO POST /h20\nlen=0\n',
  },
  {
    // RFC 9112 §9.6: no request after `Connection: close` is processed. llhttp refuses the bytes after
    // it (HPE_CLOSED_CONNECTION); when they arrive with the first request, its answer is cut too.
    id: 'H21',
    title: 'request with Connection: close followed by a pipelined request',
    bytes: b(`GET /h21 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n${S}`),
    expect: [200, 400],
    closeOk: true,
    echo: 'ECHO GET /h21\n',
  },
  {
    id: 'H22',
    title: 'bare LF inside a header value hides Content-Length',
    bytes: b(`POST /h22 HTTP/1.1\r\nHost: h\r\nX-Foo: a\nContent-Length: 35\r\n\r\n${S}`),
    expect: [400],
  },
  {
    id: 'H23',
    title: 'bare CR inside a header value',
    bytes: b('GET /h23 HTTP/1.1\r\nHost: h\r\nX-Echo: a\rb\r\nConnection: close\r\n\r\n'),
    expect: [400],
    check: noRawControls,
  },
  { id: 'H24', title: "header block 'terminated' by \\r\\n\\rX, then a 2nd request", bytes: b(`GET /h24 HTTP/1.1\r\nHost: h\r\n\rX${S}`), expect: [400] },
  {
    id: 'H25',
    title: "'Content-Length : N' (space before colon)",
    bytes: b(`POST /h25 HTTP/1.1\r\nHost: h\r\nContent-Length : 35\r\n\r\n${S}`),
    expect: [400],
  },
  {
    id: 'H26',
    title: 'NUL inside a header value',
    bytes: b('GET /h26 HTTP/1.1\r\nHost: h\r\nX-Echo: a\x00b\r\nConnection: close\r\n\r\n'),
    expect: [400],
    check: noRawControls,
  },
  { id: 'H27', title: 'NUL inside a header name', bytes: b('GET /h27 HTTP/1.1\r\nHost: h\r\nX-Fo\x00o: v\r\nConnection: close\r\n\r\n'), expect: [400] },
  {
    id: 'H28',
    title: 'control byte 0x01 inside a header value',
    bytes: b('GET /h28 HTTP/1.1\r\nHost: h\r\nX-Echo: a\x01b\r\nConnection: close\r\n\r\n'),
    expect: [400],
    check: noRawControls,
  },
  {
    id: 'H29',
    title: "non-token byte 0xA0 at end of header name 'Content-Length\\xa0'",
    bytes: b(`POST /h29 HTTP/1.1\r\nHost: h\r\nContent-Length\xa0: 35\r\n\r\n${S}`),
    expect: [400],
  },
  {
    // DESIGN.md: obs-fold is answered 400.
    id: 'H30',
    title: 'obs-fold continuation line in X-Echo',
    bytes: b('GET /h30 HTTP/1.1\r\nHost: h\r\nX-Echo: a\r\n b\r\nConnection: close\r\n\r\n'),
    expect: [400],
  },

  // Chunked bodies.
  {
    id: 'H31',
    title: 'chunk-size 0x10000000000000005 (64-bit overflow to 5)',
    bytes: b(`POST /h31 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n${S}`),
    expect: [400, 413],
    bodyError: true,
  },
  {
    id: 'H32',
    title: 'chunk-size with 0x prefix',
    bytes: b('POST /h32 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n'),
    expect: [400],
    bodyError: true,
  },
  {
    id: 'H33',
    title: 'chunk-size with + sign',
    bytes: b('POST /h33 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n'),
    expect: [400],
    bodyError: true,
  },
  {
    id: 'H34',
    title: 'chunk-size followed by a space, no extension',
    bytes: b('POST /h34 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n'),
    expect: [400],
    bodyError: true,
  },
  {
    id: 'H35',
    title: 'bare CR inside a chunk extension',
    bytes: b('POST /h35 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\rc\r\nhello\r\n0\r\n\r\n'),
    expect: [400],
    bodyError: true,
  },
  {
    id: 'H36',
    title: 'chunk data not followed by CRLF',
    bytes: b('POST /h36 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n'),
    expect: [400],
    bodyError: true,
  },
  {
    id: 'H37',
    title: '1 MiB chunk extension (unbounded read)',
    bytes: b(`POST /h37 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;x=${'a'.repeat(MiB)}\r\nZ\r\n0\r\n\r\n`),
    expect: [413, 400],
    bodyError: true,
  },
  {
    // The trailer section is `X:GET /smuggled HTTP/1.1` and `Host: h`: a valid request with two
    // trailer fields, answered once (keep-alive, so no close is expected).
    id: 'H38',
    title: "trailer section that begins 'X:GET /smuggled ...'",
    bytes: b(`POST /h38 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX:${S}`),
    expect: [200, 400],
    echo: 'ECHO POST /h38\nlen=0\n',
  },

  // Request line and target.
  { id: 'H39', title: "invalid method token 'G@T'", bytes: b('G@T /h39 HTTP/1.1\r\nHost: h\r\n\r\n'), expect: [400, 501] },
  {
    // llhttp reads `GET /h40\r\n` as an HTTP/0.9 request line and then waits for a header section;
    // node:http has no hook before the head is complete, so the refusal is the headers timeout (408,
    // 2 s on this server). With the empty line it comes at once (505, see H40+S below).
    id: 'H40',
    title: "HTTP/0.9 simple request 'GET /h40'",
    bytes: b('GET /h40\r\n'),
    expect: [400, 408, 505],
    closeOk: true,
  },
  { id: 'H41', title: 'HTTP/2.0 in an HTTP/1 request line', bytes: b('GET /h41 HTTP/2.0\r\nHost: h\r\n\r\n'), expect: [505, 400] },
  {
    id: 'H42',
    title: 'HTTP/2 prior-knowledge preface on the HTTP/1 port',
    bytes: b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00'),
    expect: [400, 505],
    closeOk: true,
  },
  {
    // PATH_INFO is the target's path. HTTP_HOST stays the Host header (research/oracle.md item 9:
    // "Keep HTTP_HOST = the Host header (4/5)"), although RFC 9112 §3.2.2 says to use the target's authority.
    id: 'H43',
    title: 'absolute-form target with a different Host',
    bytes: b('GET http://other.example/h43 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'),
    expect: [200],
    echo: 'ECHO GET /h43\n',
  },
  {
    id: 'H44',
    title: 'invalid percent-encoding and %00 in the path',
    bytes: b('GET /h44%zz%%/%ff%00%2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'),
    expect: [200, 400],
    echo: 'ECHO GET /h44%zz%%/\xff\x00%2\n',
  },
  { id: 'H45', title: 'control byte 0x01 inside the request-target', bytes: b('GET /h45\x01x HTTP/1.1\r\nHost: h\r\n\r\n'), expect: [400] },
  { id: 'H46', title: 'HTTP/1.1 request without Host', bytes: b('GET /h46 HTTP/1.1\r\nConnection: close\r\n\r\n'), expect: [400] },
  { id: 'H47', title: 'two Host headers', bytes: b('GET /h47 HTTP/1.1\r\nHost: h\r\nHost: evil.example\r\nConnection: close\r\n\r\n'), expect: [400] },

  // Limits.
  { id: 'H48', title: '1 MiB request-target', bytes: b(`GET /${'a'.repeat(MiB)} HTTP/1.1\r\nHost: h\r\n\r\n`), expect: [414, 431, 400] },
  { id: 'H49', title: 'one 1 MiB header field', bytes: b(`GET /h49 HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(MiB)}\r\n\r\n`), expect: [431, 400] },
  {
    id: 'H50',
    title: '2500 header fields (~20 KB)',
    bytes: b(`GET /h50 HTTP/1.1\r\nHost: h\r\n${many(2500, (i) => `x${pad4(i)}: 1\r\n`)}\r\n`),
    expect: [431, 400],
  },
  {
    // H50 within the size limit: the door's own count limit (limitRequestFields, 100) must refuse, not
    // let node:http drop the fields past its cap.
    id: 'H50-count',
    title: '150 small header fields (under maxHeaderSize, over limitRequestFields)',
    bytes: b(`GET /h50c HTTP/1.1\r\nHost: h\r\n${many(150, (i) => `x${pad4(i)}: 1\r\n`)}\r\n`),
    expect: [431],
  },

  // Additions: a request the door refuses, or must close after, followed by a pipelined ‹S›. node:http
  // parses and emits the pipelined request at once; the application must never run for it.
  { id: 'H40+S', title: 'HTTP/0.9 request with a header section, then ‹S›', bytes: b(`GET /h40s\r\n\r\n${S}`), expect: [505, 400] },
  { id: 'H41+S', title: 'HTTP/2.0 request line, then ‹S›', bytes: b(`GET /h41s HTTP/2.0\r\nHost: h\r\n\r\n${S}`), expect: [505, 400] },
  { id: 'H46+S', title: 'HTTP/1.1 without Host, then ‹S›', bytes: b(`GET /h46s HTTP/1.1\r\nX: y\r\n\r\n${S}`), expect: [400] },
  { id: 'H47+S', title: 'two Host headers, then ‹S›', bytes: b(`GET /h47s HTTP/1.1\r\nHost: h\r\nHost: evil.example\r\n\r\n${S}`), expect: [400] },
  {
    id: 'H48+S',
    title: '9000-byte request-target (over limitRequestLine, under maxHeaderSize), then ‹S›',
    bytes: b(`GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: h\r\n\r\n${S}`),
    expect: [414],
  },
  {
    id: 'H50+S',
    title: '150 header fields, then ‹S›',
    bytes: b(`GET /h50s HTTP/1.1\r\nHost: h\r\n${many(150, (i) => `x${pad4(i)}: 1\r\n`)}\r\n${S}`),
    expect: [431],
  },
  // Additions for the protocol rules (src/protocol/framing.ts, target.ts): what llhttp lets through
  // and the net engine once read with String.trim(); each refused by both engines the same way.
  {
    id: 'TE-A0+S',
    title: "Transfer-Encoding 'chunked\\xa0' (0xA0 is not OWS), raw 2nd request",
    bytes: b(`POST /te-a0 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\xa0\r\n\r\n0\r\n\r\n${S}`),
    expect: [400],
  },
  {
    id: 'TE-gzip',
    title: "Transfer-Encoding 'gzip, chunked' (a coding tsgi does not decode)",
    bytes: b('POST /te-gzip HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'),
    expect: [501],
  },
  { id: 'T-ftp+S', title: 'absolute-form target with an ftp: URI, then ‹S›', bytes: b(`GET ftp://evil/x HTTP/1.1\r\nHost: h\r\n\r\n${S}`), expect: [400] },
  { id: 'T-noauth', title: "absolute-form 'http:///x' (no host)", bytes: b('GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n'), expect: [400] },
  { id: 'T-star', title: "asterisk-form with GET ('GET *')", bytes: b('GET * HTTP/1.1\r\nHost: h\r\n\r\n'), expect: [400] },
  {
    id: 'T-connect+S',
    title: 'CONNECT host:443 (not a proxy), then ‹S›',
    bytes: b(`CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n${S}`),
    expect: [501],
  },
  { id: 'T-utf8', title: 'raw UTF-8 in the request target', bytes: b('GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n'), expect: [400] },
  {
    id: 'CT2+S',
    title: 'two Content-Type fields, then ‹S›',
    bytes: b(`POST /ct2 HTTP/1.1\r\nHost: h\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\n${S}`),
    expect: [400],
  },
  { id: 'Host-path', title: "a Host that is not host[:port] ('h/evil')", bytes: b('GET /hp HTTP/1.1\r\nHost: h/evil\r\n\r\n'), expect: [400] },
  {
    id: 'CL-list',
    title: "Content-Length '5, 5' (a list of equal values)",
    bytes: b('POST /cll HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello'),
    expect: [400],
  },
  {
    id: 'Expect-x',
    title: "Expect: 'x' (not 100-continue)",
    bytes: b('POST /ex HTTP/1.1\r\nHost: h\r\nExpect: x\r\nContent-Length: 1\r\n\r\nZ'),
    expect: [417],
  },
  {
    id: 'H20+S',
    title: 'HTTP/1.0 chunked POST without keep-alive, then ‹S›',
    bytes: b(`POST /h20s HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n${S}`),
    expect: [200, 400],
    echo: 'ECHO POST /h20s\nlen=5\n',
  },
];
