// Responses that carry no content, and what their header fields may still say about it: one table that
// the runner frames responses by (it adds no Content-Length of its own to them, and the door sends no
// body and no chunked framing) and that validate() checks applications against.
//
//   HEAD      RFC 9110 §9.3.2: no content, whatever the status; the fields are those a GET would get,
//             so a Content-Length there is the GET's length (R69).
//   1xx       RFC 9110 §15.2: interim, no content; RFC 9110 §8.6 and RFC 9112 §6.1: no Content-Length,
//             no Transfer-Encoding. (A 1xx cannot end a TSGI response at all: R37.)
//   204       RFC 9110 §15.3.5: "cannot contain content"; §8.6 and RFC 9112 §6.1: no Content-Length, no
//             Transfer-Encoding.
//   304       RFC 9110 §15.4.5: no content; §8.6: a Content-Length only as the length of the selected
//             representation (what a 200 would send), never of the empty body, so it is not counted.
// Content-Type on 1xx, 204 and 304 describes content that is not there: wsgiref's validator (V34) and
// Rack::Lint both refuse it. 205 is not in the table: its content must be empty, but it is framed like
// any other (Content-Length: 0, an empty chunked body, or a close: RFC 9110 §15.3.6).

export interface NoContentRule {
  /**
   * `forbidden`: no Content-Length field at all (1xx, 204). `representation`: allowed, as the length a
   * 200 would have, so it is never held against the (empty) body (304).
   */
  contentLength: 'forbidden' | 'representation';
  /** Transfer-Encoding (RFC 9112 §6.1). An application cannot send it anyway: it is hop-by-hop. */
  transferEncoding: 'forbidden' | 'allowed';
  /** Content-Type (wsgiref V34, Rack::Lint). */
  contentType: 'forbidden';
}

const INTERIM: NoContentRule = { contentLength: 'forbidden', transferEncoding: 'forbidden', contentType: 'forbidden' };

/** The statuses whose responses never carry content, with what each may say in its fields. */
export const NO_CONTENT: Readonly<Record<'1xx' | 204 | 304, NoContentRule>> = Object.freeze({
  '1xx': INTERIM,
  204: { contentLength: 'forbidden', transferEncoding: 'forbidden', contentType: 'forbidden' },
  304: { contentLength: 'representation', transferEncoding: 'allowed', contentType: 'forbidden' },
});

/** The rule of a status that carries no content (1xx, 204, 304), or undefined for every other status. */
export function noContentRule(code: number): NoContentRule | undefined {
  if (code < 200) return NO_CONTENT['1xx'];
  if (code === 204) return NO_CONTENT[204];
  if (code === 304) return NO_CONTENT[304];
  return undefined;
}

/** True when a response with this status has no content (1xx, 204, 304). */
export function isNoContentStatus(code: number): boolean {
  return noContentRule(code) !== undefined;
}

/** True when the response carries no body: a HEAD request, or a status that has no content. */
export function isBodyless(code: number, method: string): boolean {
  return method === 'HEAD' || isNoContentStatus(code);
}
