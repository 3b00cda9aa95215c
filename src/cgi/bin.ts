#!/usr/bin/env node
// `tsgi-cgi MODULE[:EXPORT]`: runs the application for the one CGI request in this process's
// environment and stdin, answers on stdout, then exits. As the first line of a CGI script:
//
//   #!/usr/bin/env -S npx tsgi-cgi app.ts
//
// The web server appends the script's own path (and, for a query without `=`, its words: RFC 3875
// §4.4) to the arguments: everything after MODULE is ignored. MODULE is resolved against the current
// directory, which Apache and lighttpd set to the script's directory.
import { LoadError, loadApp } from '../server/load.js';
import { runCgi } from './run.js';

const USAGE = 'usage: tsgi-cgi MODULE[:EXPORT]   (run an application as a CGI script: environment and stdin in, response on stdout)\n';
// wsgiref's error response: the web server shows it; the reason goes to its error log (our stderr).
const ERROR_RESPONSE =
  'Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 59\r\n\r\n' + 'A server error occurred.  Please contact the administrator.';

/** Exits once stdout has taken everything (process.exit() does not wait for a pipe that is busy). */
function exit(code: number): void {
  const out = process.stdout;
  if (out.destroyed) process.exit(code);
  out.on('error', () => process.exit(code)); // EPIPE: the web server stopped reading
  out.write('', () => process.exit(code));
}

async function main(): Promise<void> {
  const spec = process.argv[2];
  if (spec === undefined || spec === '-h' || spec === '--help') {
    process.stderr.write(USAGE);
    process.exitCode = spec === undefined ? 2 : 0;
    return;
  }
  let app;
  try {
    app = await loadApp(spec);
  } catch (err) {
    process.stderr.write(`tsgi-cgi: ${err instanceof LoadError ? err.message : (err as Error).stack}\n`);
    process.stdout.write(ERROR_RESPONSE);
    return exit(1);
  }
  // The web server ends a CGI whose client went away with SIGTERM (Apache SIGKILLs 3 s later): stop
  // the response so that the body's close() runs, then exit.
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      stop.abort();
      setTimeout(() => process.exit(1), 2000).unref();
    });
  }
  await runCgi(app, { signal: stop.signal });
  // An application may leave timers or sockets open; the request is over, and the web server waits
  // for this process's stdout to close.
  exit(stop.signal.aborted ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`tsgi-cgi: ${(err as Error)?.stack ?? String(err)}\n`);
  exit(1);
});
