// Applications the FastCGI tests serve. Routes on the last path segment, so any SCRIPT_NAME/PATH_INFO
// split a fixture's web server made still reaches the right one.
import type { Application, Environ } from '../../src/spec.js';
import type { Logger } from '../../src/runner/log.js';

/** The string-valued environ keys and the body the application read, as JSON (UTF-8 over native strings). */
export interface Echo {
  environ: Record<string, string | boolean | number[]>;
  body: string; // latin-1
}

export function parseEcho(body: Uint8Array): Echo {
  return JSON.parse(Buffer.from(body).toString('utf8')) as Echo;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Hooks a test can set to watch or hold the application. */
export const hooks = {
  calls: 0,
  closed: 0,
  /** Resolved by a test to let a /wait request go on. */
  gate: Promise.resolve() as Promise<unknown>,
  onClose: () => {},
};

export const logLines: string[] = [];
export const quietLog: Logger = {
  error: (m) => logLines.push(`ERROR ${m}`),
  warn: (m) => logLines.push(`WARN ${m}`),
  info: (m) => logLines.push(`INFO ${m}`),
};

function leafOf(environ: Environ): string {
  const p = `${environ.SCRIPT_NAME}${environ.PATH_INFO}`;
  return p.slice(p.lastIndexOf('/') + 1);
}

export const testApp: Application = async (environ, startResponse) => {
  hooks.calls++;
  const leaf = leafOf(environ);
  if (leaf === 'hello') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return ['Hello, World!\n'];
  }
  if (leaf === 'stream') {
    startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
    const n = Number(environ.QUERY_STRING) || 10 * 1024 * 1024;
    return (function* () {
      for (let i = 0; i < n; i += 65536) yield Buffer.alloc(Math.min(65536, n - i), (i / 65536) % 251);
    })();
  }
  if (leaf === 'errors') {
    environ['wsgi.errors'].write('oops: something to log\n');
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return ['logged\n'];
  }
  if (leaf === 'forever') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          yield 'tick\n';
          await sleep(5);
        }
      },
      close() {
        hooks.closed++;
        hooks.onClose();
      },
    };
  }
  if (leaf === 'fail-mid') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return (function* () {
      yield 'part one\n';
      throw new Error('the body broke');
    })();
  }
  if (leaf === 'wait') await hooks.gate;
  // Anything else: echo the environ and the body.
  const body = await environ['wsgi.input'].read();
  const env: Echo['environ'] = {};
  for (const [k, v] of Object.entries(environ)) {
    if (typeof v === 'string' || typeof v === 'boolean') env[k] = v;
    else if (k === 'wsgi.version') env[k] = [...(v as number[])];
  }
  const json: Echo = { environ: env, body: Buffer.from(body).toString('latin1') };
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify(json)];
};

/** The TypeScript twin of the capture lab's hello_wsgi.py, for comparing response shapes with uWSGI's. */
export const helloApp: Application = (environ, startResponse) => {
  if (leafOf(environ) === 'stream') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return (function* () {
      yield 'chunk1\n';
      yield 'chunk2\n';
    })();
  }
  const body = 'Hello, World!\n';
  startResponse('200 OK', [
    ['Content-Type', 'text/plain'],
    ['Content-Length', String(body.length)],
  ]);
  return [body];
};
