// The seed document's application, ported line by line: it shows the environ the server built.
//
//   npm start                                   serves it on localhost:8051 through the tsgi CLI
//   node --import tsx examples/environ.ts       serves one request, as the seed's handle_request()
import type { Environ, EnvironRecord, StartResponse } from 'tsgi';
import { makeServer } from 'tsgi';

// Python's str.encode('latin-1', 'backslashreplace'): environ values are native strings, so each
// char is one byte; anything above U+00FF (there should be none) shows as a visible \uXXXX escape.
function encode(text: string): Uint8Array {
  if (!/[^\x00-\xff]/.test(text)) return Buffer.from(text, 'latin1'); // the usual case, in one step
  const bytes: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp <= 0xff) bytes.push(cp);
    else for (const c of '\\u' + cp.toString(16).padStart(4, '0')) bytes.push(c.charCodeAt(0));
  }
  return Uint8Array.from(bytes);
}

export function application(environ: Environ, startResponse: StartResponse) {
  const body = Object.keys(environ)
    .sort()
    .map((key) => `${key}:${String((environ as EnvironRecord)[key])}`) // every key, named at run time
    .join('\n');
  const parts = ['The Begining\n', '*'.repeat(30) + '\n', body, '\n' + '*'.repeat(30), '\nThe End'];
  const data = parts.map(encode);
  const length = data.reduce((sum, part) => sum + part.length, 0);
  startResponse('200 OK', [
    ['Content-Type', 'text/plain'],
    ['Content-Length', String(length)],
  ]);
  return data;
}

// Run directly: make_server('localhost', 8051, application); handle_request().
if (import.meta.url === `file://${process.argv[1]}`) {
  const httpd = await makeServer('localhost', 8051, application);
  console.log('Serving one request on http://localhost:8051 ...');
  await httpd.handleRequest();
  await httpd.close();
}
