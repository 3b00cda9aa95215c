// The smallest TSGI application.   npx tsgi examples/hello.ts --bind 127.0.0.1:8000
import type { Environ, StartResponse } from 'tsgi';

export function application(_environ: Environ, startResponse: StartResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['Hello, World!\n'];
}
